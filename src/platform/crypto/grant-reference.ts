import { createHash } from 'node:crypto';

/**
 * The claim by which the hub's own API recognises the grant an access token for `<ISSUER>/hub`
 * came from. JWT access tokens are not stored, so this is how a live stream learns that its
 * token's grant was revoked (sign-out everywhere, a password change or reset, the account
 * disabled). A hash, not the grant id: the token's holder learns nothing it could use elsewhere.
 */
export const grantClaim = 'grant_ref';

export const grantReference = (grantId: string): string => createHash('sha256').update(`uniqverse grant ${grantId}`).digest('base64url').slice(0, 32);
