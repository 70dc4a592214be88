import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Standard output, or `destination` (tests read what the hub logs). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: undefined,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.client_secret'], remove: true },
  };
  return destination ? pino(options, destination) : pino(options);
}
