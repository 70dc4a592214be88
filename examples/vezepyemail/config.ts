/** VEZEPyEmail's settings, from the environment (README.md lists them). */
export interface EmailConfig {
  issuer: string;
  clientId: string;
  clientSecret: string;
  webhookSecret: string;
  port: number;
  host: string;
  /** Where people reach this service; the redirect URI registered at the hub is `${publicUrl}/callback`. */
  publicUrl: string;
  /** This service's resource at the hub: the audience of the access tokens it accepts. */
  resource: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): EmailConfig {
  const missing = ['ISSUER', 'CLIENT_ID', 'CLIENT_SECRET', 'WEBHOOK_SECRET'].filter((name) => !env[name]);
  if (missing.length) throw new Error(`Set ${missing.join(', ')} (see examples/vezepyemail/README.md).`);
  const port = Number(env.PORT ?? 8005);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('PORT must be a port number.');
  return {
    issuer: env.ISSUER!.replace(/\/$/, ''),
    clientId: env.CLIENT_ID!,
    clientSecret: env.CLIENT_SECRET!,
    webhookSecret: env.WEBHOOK_SECRET!,
    port,
    host: env.HOST ?? '127.0.0.1',
    publicUrl: (env.PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/$/, ''),
    resource: env.RESOURCE ?? 'urn:veze:service:vezepyemail',
  };
}
