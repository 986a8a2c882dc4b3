import { describe, expect, it } from 'vitest';
import { kvBucketOptions, kvBuckets, streams, withReplicas } from './streams.js';

describe('replicas (JS_REPLICAS)', () => {
  it('reach every stream definition, leaving the rest of it as it was', () => {
    for (const def of Object.values(streams)) {
      expect(withReplicas(def, 3), def.name).toEqual({ ...def, num_replicas: 3 });
      expect(withReplicas(def, 1).num_replicas, def.name).toBe(1);
    }
  });

  it('reach every KV bucket with its history', () => {
    for (const bucket of Object.values(kvBuckets))
      expect(kvBucketOptions(bucket, 3), bucket.name).toEqual({ history: bucket.history, replicas: 3 });
  });

  it('refuse a count nats-server would not take, naming the setting', () => {
    for (const bad of [0, 6, 1.5, -1]) {
      expect(() => withReplicas(streams.bars, bad)).toThrow(/JS_REPLICAS/);
      expect(() => kvBucketOptions(kvBuckets.executorState, bad)).toThrow(/from 1 to 5/);
    }
  });
});
