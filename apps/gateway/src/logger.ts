import pino, { type Logger } from 'pino';

/** pino to stderr; credentials and tokens are redacted wherever they appear in a logged object. */
export function createLogger(level: string): Logger {
  return pino(
    {
      name: 'gateway',
      level,
      redact: {
        paths: [
          'clientSecret', '*.clientSecret', '*.*.clientSecret', 'privateKeyPem', '*.privateKeyPem', '*.*.privateKeyPem',
          'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
          'token', '*.token', 'access_token', '*.access_token', 'variables', '*.variables',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}
