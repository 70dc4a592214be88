import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/**
 * `provider.interactionResult`, for the interaction the route read in this same request with
 * `interactionDetails`. The provider's own reads it once more before saving: another trip to the
 * short-lived store (Redis), a request context built again and, when the interaction has a
 * session, the session looked up again. Those checks are the ones the route's read made, and the
 * resume (/auth/:uid) makes them again before it acts on the result. Returns where the browser
 * goes next.
 */
export async function saveInteractionResult(interaction: Interaction, result: InteractionResults, { mergeWithLastSubmission }: { mergeWithLastSubmission: boolean }): Promise<string> {
  interaction.result = mergeWithLastSubmission && !('error' in result) ? { ...interaction.lastSubmission, ...result } : result;
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
  return interaction.returnTo;
}
