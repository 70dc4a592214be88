import type { Context } from 'koa';
import { negotiateLocale, type Locale } from '../../platform/i18n.ts';

interface LocaleState {
  uiLocales?: string;
  /** The person of a provider page before the portal knows them (the consent page's). */
  savedLocale?: string | null;
  account?: { user?: { locale?: string | null; time_zone?: string | null } };
}

/**
 * The language a page is drawn in: the interaction's OIDC `ui_locales` (provider pages remember it
 * with rememberUiLocales), the signed-in person's saved choice, Accept-Language, English.
 */
export function localeOf(ctx: Context): Locale {
  const state = ctx.state as LocaleState;
  return negotiateLocale({ uiLocales: state.uiLocales, saved: state.account?.user?.locale ?? state.savedLocale, acceptLanguage: ctx.get('Accept-Language') });
}

/** The person's saved time zone; UTC until the browser has told us theirs. */
export const timeZoneOf = (ctx: Context): string => (ctx.state as LocaleState).account?.user?.time_zone ?? 'UTC';

/** A provider page's interaction asked for languages: the pages of this request honour them first. */
export function rememberUiLocales(ctx: Context, interaction: { params: Record<string, unknown> }): void {
  const asked = interaction.params.ui_locales;
  if (typeof asked === 'string') (ctx.state as LocaleState).uiLocales = asked;
}
