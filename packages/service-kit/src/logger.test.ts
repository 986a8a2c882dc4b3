import { describe, expect, it } from 'vitest';
import { captureLogger } from './testing/log-capture.js';

const KEY = 'PKTESTKEY1234567890';
const SECRET = 'sEcReT/with+chars=0123456789abcdef';

describe('logger redaction', () => {
  it('never writes a secret, by field name or inside message text', async () => {
    const { logger, text } = captureLogger({ secrets: [KEY, SECRET] });
    logger.info({ keyId: KEY, secret: SECRET }, 'auth fields');
    logger.info({ config: { ALPACA_SECRET_KEY: SECRET, NATS_PASS: 'natspass123' } }, 'nested config');
    logger.info({ headers: { 'apca-api-secret-key': SECRET } }, 'upgrade headers');
    logger.error(
      { err: new Error(`auth failed for ${KEY}:${SECRET}`) },
      `request to https://x/?k=${encodeURIComponent(SECRET)} failed`,
    );
    logger.child({ component: 'ws' }).warn(`sending {"action":"auth","key":"${KEY}","secret":"${SECRET}"}`);
    const out = text();
    expect(out).not.toContain(KEY);
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain(encodeURIComponent(SECRET));
    expect(out).not.toContain('natspass123');
    expect(out.match(/\[Redacted\]/g)?.length).toBeGreaterThanOrEqual(8);
  });

  it('keeps ordinary fields and child bindings', () => {
    const { logger, lines } = captureLogger();
    logger.child({ component: 'backoff' }).info({ attempt: 3, delayMs: 1200 }, 'reconnect scheduled');
    expect(lines()[0]).toMatchObject({ component: 'backoff', attempt: 3, delayMs: 1200, msg: 'reconnect scheduled' });
  });
});
