import { createDecipheriv, createECDH, createPublicKey, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';

/** A self-signed certificate for 127.0.0.1, made with openssl for this test run; the hub trusts it through PUSH_CA. */
export function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'uq-push-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    return { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What a browser keeps for one subscription: its ECDH P-256 key pair and 16-byte auth secret (RFC 8291). */
export function browserKeys() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return { ecdh, p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url'), authBytes: auth };
}

export type BrowserKeys = ReturnType<typeof browserKeys>;

/**
 * Decrypts an aes128gcm Web Push message (RFC 8188 framing, RFC 8291 keys) with the subscription's
 * private key and auth secret, independently of the library that encrypted it.
 */
export function decryptWebPush(body: Buffer, keys: BrowserKeys): string {
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  const serverPublic = body.subarray(21, 21 + idLength);
  const ciphertext = body.subarray(21 + idLength);
  if (ciphertext.length > recordSize) throw new Error('more than one record');
  const shared = keys.ecdh.computeSecret(serverPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), keys.ecdh.getPublicKey(), serverPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', shared, keys.authBytes, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('the last record lacks its 0x02 delimiter');
  return padded.subarray(0, end).toString('utf8');
}

/** The VAPID key (RFC 8292 `k`, an uncompressed P-256 point) as a public key to verify its JWT with. */
export function vapidPublicKey(k: string): KeyObject {
  const raw = Buffer.from(k, 'base64url');
  if (raw.length !== 65 || raw[0] !== 4) throw new Error('k is not an uncompressed P-256 point');
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') }, format: 'jwk' });
}

export interface Received {
  method: string;
  path: string;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  /** HTTP/2 (APNs) or HTTP/1.1 (Web Push, FCM). */
  version: string;
}

export type Answer = { status: number; body?: unknown };

/**
 * One local TLS server playing the push services: Web Push endpoints under /push/ (RFC 8030, any
 * HTTP version), APNs under /3/device/ (HTTP/2), FCM's token URI at /token and its API under
 * /v1/. `answer` decides each reply; every request is kept in `received`.
 */
export async function pushServices(answer: (request: Received) => Answer | undefined = () => undefined) {
  const { key, cert } = selfSignedCertificate();
  const received: Received[] = [];
  const server = http2.createSecureServer({ key, cert, allowHTTP1: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: Received = { method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks), version: req.httpVersion };
      received.push(request);
      const chosen = answer(request);
      const defaults: Answer = request.path === '/token' ? { status: 200, body: { access_token: 'ya29.test-access-token', expires_in: 3599, token_type: 'Bearer' } } : request.path.startsWith('/v1/') ? { status: 200, body: { name: 'projects/p/messages/1' } } : request.path.startsWith('/3/') ? { status: 200 } : { status: 201 };
      const { status, body } = chosen ?? defaults;
      if (body === undefined) return void res.writeHead(status).end();
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    ca: cert,
    received,
    of: (prefix: string) => received.filter((r) => r.path.startsWith(prefix)),
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Verifies a VAPID Authorization header (`vapid t=<JWT>, k=<key>`) and returns its key and claims. */
export async function verifyVapid(header: string | undefined): Promise<{ k: string; claims: JWTPayload; alg: string }> {
  const match = /^vapid t=([\w.-]+),\s*k=([\w-]+)$/.exec(header ?? '');
  if (!match) throw new Error(`not a VAPID authorization: ${header}`);
  const [, jwt, k] = match;
  const { payload } = await jwtVerify(jwt!, vapidPublicKey(k!), { algorithms: ['ES256'] });
  return { k: k!, claims: payload, alg: decodeProtectedHeader(jwt!).alg! };
}

/** An APNs signing key (.p8: PKCS#8 PEM) and an FCM service account's RSA key, with their public halves. */
export function nativeKeys() {
  const apns = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const fcm = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    apnsPem: apns.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    apnsPublic: apns.publicKey,
    fcmPem: fcm.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    fcmPublic: fcm.publicKey,
  };
}
