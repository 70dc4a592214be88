import { errors, type InteractionResults } from 'oidc-provider';
import type Provider from 'oidc-provider';

/** A sign-in's interaction as the provider gives it to the pages (`interactionDetails`). */
export type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/**
 * `provider.interactionResult`, for the interaction the route read in this same request with
 * `interactionDetails`. The provider's own reads it once more before saving: another trip to the
 * short-lived store (Redis), a request context built again and, when the interaction has a
 * session, the session looked up again. Those checks are the ones the route's read made, and the
 * resume (/auth/:uid) makes them again before it acts on the result. Returns where the browser
 * goes next. An interaction that ran out while the request was served is not saved again: the
 * provider's read would not have found it either.
 */
export async function saveInteractionResult(interaction: Interaction, result: InteractionResults, { mergeWithLastSubmission }: { mergeWithLastSubmission: boolean }): Promise<string> {
  const ttl = interaction.exp - Math.floor(Date.now() / 1000);
  if (ttl <= 0) throw new errors.SessionNotFound('interaction session not found');
  interaction.result = mergeWithLastSubmission && !('error' in result) ? { ...interaction.lastSubmission, ...result } : result;
  await interaction.save(ttl);
  return interaction.returnTo;
}
