import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { SIGNATURE_HEADER, verifyWebhook, type WebhookPayload } from '../../src';

export interface ReceivedWebhook {
  payload: WebhookPayload;
  headers: IncomingMessage['headers'];
  verified: boolean;
  reason: string | null;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Answers of the next requests, in order (then 204); a number is a status, 'hang' never answers. */
  script: Array<number | 'hang'>;
  close(): Promise<void>;
}

/** A real HTTP server that verifies each request's signature as a receiver would (401 when it fails). */
export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const script: Array<number | 'hang'> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = req.headers[SIGNATURE_HEADER];
      const v = verifyWebhook({ secret, header: Array.isArray(header) ? header[0] : header, body });
      received.push({ payload: JSON.parse(body) as WebhookPayload, headers: req.headers, verified: v.ok, reason: v.ok ? null : v.reason });
      const next = script.shift();
      if (next === 'hang') return;
      if (!v.ok) {
        res.writeHead(401).end(v.reason);
        return;
      }
      res.writeHead(next ?? 204).end(next && next >= 400 ? 'receiver is down' : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/warden`,
    received,
    script,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SmtpSink {
  url: string;
  mails: Array<{ envelopeTo: string[]; mail: ParsedMail }>;
  close(): Promise<void>;
}

/** A real SMTP server (smtp-server) on a free port, accepting any mail with user/pass auth and keeping it. */
export async function startSmtpSink(user = 'warden', pass = 'sink-pass-0123'): Promise<SmtpSink> {
  const mails: SmtpSink['mails'] = [];
  const server = new SMTPServer({
    secure: false,
    authOptional: false,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === pass) cb(null, { user });
      else cb(new Error('invalid credentials'));
    },
    onData(stream, session, cb) {
      simpleParser(stream)
        .then((mail) => {
          mails.push({ envelopeTo: session.envelope.rcptTo.map((r) => r.address), mail });
          cb();
        })
        .catch((err: Error) => cb(err));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://${user}:${pass}@127.0.0.1:${port}`,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
