import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import forge from 'node-forge';

const { pki } = forge;

export interface CaFiles {
  caCertPath: string;
  caKeyPath: string;
}

export interface KeyAndCert {
  certPem: string;
  keyPem: string;
}

function repoRoot(): string {
  // src/identity -> package -> packages -> repo
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
}

export function defaultCaDir(): string {
  return process.env['GRAPH_EMULATOR_CA_DIR'] || path.join(repoRoot(), '.data', 'emulator-ca');
}

function rsaKeys(): { privateKeyPem: string; publicKeyPem: string } {
  // Native key generation; node-forge's pure-JS RSA would take seconds.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export function serial(): string {
  // Positive (top bit clear) and minimal in DER (first byte not zero): a leading 0x00 before a byte
  // below 0x80 is "illegal padding" to OpenSSL, which made 1 certificate in 256 unusable.
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x40;
  return b.toString('hex');
}

function createCa(): KeyAndCert {
  const keys = rsaKeys();
  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 86_400_000);
  const attrs = [
    { name: 'commonName', value: 'Warden Graph Emulator Local CA' },
    { name: 'organizationName', value: 'Warden dev' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(pki.privateKeyFromPem(keys.privateKeyPem), forge.md.sha256.create());
  return { certPem: pki.certificateToPem(cert), keyPem: keys.privateKeyPem };
}

async function waitFor(file: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Creates the local CA once and reuses it, so NODE_EXTRA_CA_CERTS can name the file before a process
 * starts. Concurrent callers (parallel test workers) race safely: files appear via link(), which
 * fails if another process got there first; the loser then uses the winner's files.
 */
export async function ensureCa(dir: string = defaultCaDir()): Promise<CaFiles> {
  const caCertPath = path.join(dir, 'ca.pem');
  const caKeyPath = path.join(dir, 'ca-key.pem');
  if (existsSync(caCertPath) && existsSync(caKeyPath)) return { caCertPath, caKeyPath };
  await mkdir(dir, { recursive: true });
  const ca = createCa();
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const keyTmp = `${caKeyPath}.${tag}.tmp`;
  const certTmp = `${caCertPath}.${tag}.tmp`;
  await writeFile(keyTmp, ca.keyPem, { mode: 0o600 });
  await writeFile(certTmp, ca.certPem);
  try {
    await link(keyTmp, caKeyPath);
    await link(certTmp, caCertPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    await waitFor(caCertPath, 10_000);
  } finally {
    await unlink(keyTmp).catch(() => undefined);
    await unlink(certTmp).catch(() => undefined);
  }
  return { caCertPath, caKeyPath };
}

let leafCache: { caCertPem: string; publicHost: string; leaf: KeyAndCert } | undefined;

/** TLS server certificate for localhost / 127.0.0.1 / ::1, signed by the local CA (cached per process). */
export async function serverCertificate(files: CaFiles, publicHost = 'localhost'): Promise<KeyAndCert & { caCertPem: string }> {
  const caCertPem = await readFile(files.caCertPath, 'utf8');
  if (leafCache && leafCache.caCertPem === caCertPem && leafCache.publicHost === publicHost) return { ...leafCache.leaf, caCertPem };
  const caKeyPem = await readFile(files.caKeyPath, 'utf8');
  const caCert = pki.certificateFromPem(caCertPem);
  const keys = rsaKeys();
  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 86_400_000);
  cert.setSubject([{ name: 'commonName', value: 'localhost' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: 'localhost' },
        { type: 7, ip: '127.0.0.1' },
        { type: 7, ip: '::1' },
        ...(publicHost !== 'localhost' ? [{ type: 2, value: publicHost }] : []),
      ],
    },
  ]);
  cert.sign(pki.privateKeyFromPem(caKeyPem), forge.md.sha256.create());
  const leaf = { certPem: pki.certificateToPem(cert), keyPem: keys.privateKeyPem };
  leafCache = { caCertPem, publicHost, leaf };
  return { ...leaf, caCertPem };
}

/** Self-signed certificate + key for an app registration's certificate credential. */
const appCertCache = new Map<string, KeyAndCert>();

export function appCertificate(commonName: string): KeyAndCert {
  const hit = appCertCache.get(commonName);
  if (hit) return hit;
  const keys = rsaKeys();
  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + 2 * 365 * 86_400_000);
  const attrs = [{ name: 'commonName', value: commonName }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.sign(pki.privateKeyFromPem(keys.privateKeyPem), forge.md.sha256.create());
  const out = { certPem: pki.certificateToPem(cert), keyPem: keys.privateKeyPem };
  appCertCache.set(commonName, out);
  return out;
}
