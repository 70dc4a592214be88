/** RFC 8693 `act`: who acts for the token's subject, and who acted before them (a chain of exchanges). */
export interface ActorClaim {
  sub: string;
  act?: ActorClaim;
}

/** What a token made by token exchange carries beyond the provider's claims. */
export interface ExchangeClaims {
  act: ActorClaim;
  /** The grant the subject token came from (src/platform/crypto/grant-reference.ts): the new token holds only while it lives. None: a portal session's (not exchangeable again). */
  grantRef?: string;
}

/**
 * The exchange claims of access tokens being minted by src/oidc/token-exchange.ts, by token
 * object: extraTokenClaims (src/oidc/provider.ts) puts them into the JWT. The provider rebuilds a
 * token's `extra` from extraTokenClaims on save, so they cannot be set on the token directly.
 */
export const exchangeClaimsOf = new WeakMap<object, ExchangeClaims>();
