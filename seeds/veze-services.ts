/**
 * The five VEZE services as first-party services of a development hub, each with a web client
 * on the port its dev server conventionally listens on, and a demo account. Used by
 * `uniqverse seed` (src/cli/seed.ts); docs/cli.md lists the ports.
 */
export interface SeedService {
  slug: string;
  name: string;
  /** Port of the service's development server on localhost. */
  port: number;
  /** Tier a person gets on joining; the demo account gets it too. */
  defaultTier?: string;
}

export const vezeServices: readonly SeedService[] = [
  { slug: 'vezepyweb', name: 'VEZEPyWeb', port: 8001 },
  { slug: 'vezepygame', name: 'VEZEPyGame', port: 8002, defaultTier: 'basic' },
  { slug: 'vezepycgrow', name: 'VEZEPyCGrow', port: 8003, defaultTier: 'basic' },
  { slug: 'vezepysports', name: 'VEZEPySports', port: 8004 },
  { slug: 'vezepyemail', name: 'VEZEPyEmail', port: 8005, defaultTier: 'basic' },
];

export const serviceUrl = (service: SeedService) => `http://localhost:${service.port}`;
export const redirectUri = (service: SeedService) => `${serviceUrl(service)}/callback`;
export const postLogoutRedirectUri = (service: SeedService) => `${serviceUrl(service)}/`;

export const demoAccount = { email: 'demo@veze.local', name: 'Demo Person' } as const;
