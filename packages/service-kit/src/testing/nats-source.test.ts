import { describe, expect, it } from 'vitest';
import { chooseNatsSource, type NatsSourceInputs } from './nats-source.js';

const none: NatsSourceInputs = {
  forced: undefined,
  natsUrl: undefined,
  needsOwn: false,
  engineAnswers: false,
  binaryFound: false,
};

describe('chooseNatsSource', () => {
  it('takes a container whenever an engine answers, the binary otherwise, and nothing when neither exists', () => {
    expect(chooseNatsSource({ ...none, engineAnswers: true, binaryFound: true })).toBe('container');
    expect(chooseNatsSource({ ...none, binaryFound: true })).toBe('binary');
    expect(chooseNatsSource(none)).toBeNull();
  });

  it('lets VIGIL_TEST_NATS force either path, even over NATS_URL, and refuses any other value', () => {
    const both = { ...none, engineAnswers: true, binaryFound: true, natsUrl: 'nats://x:4222' };
    expect(chooseNatsSource({ ...both, forced: 'binary' })).toBe('binary');
    expect(chooseNatsSource({ ...both, forced: 'container', engineAnswers: false })).toBe('container');
    expect(() => chooseNatsSource({ ...both, forced: 'podman' })).toThrow(/VIGIL_TEST_NATS=podman .*container, binary/);
  });

  it('shares NATS_URL only with tests that need no server of their own', () => {
    const withUrl = { ...none, natsUrl: 'nats://x:4222', binaryFound: true };
    expect(chooseNatsSource(withUrl)).toBe('external');
    expect(chooseNatsSource({ ...withUrl, needsOwn: true })).toBe('binary');
  });
});
