import type { DataPath } from '@vigil/contracts';
import type { DegradedPolicy } from './config.js';
import { alert, iso, secs, type Action } from './drafts.js';
import { haltThenFlatten, noEscalation, type Escalation, type ExecutorControl } from './escalation.js';

/**
 * `feed_degraded`: the live stream has been down for a while in market hours, even if REST polling still
 * carries fresh bars. Polling is a bridge, not a feed: minutes late at best, one request away from Alpaca's
 * rate limit, and blind to corrections. Pure; `rules.ts` calls it on every event.
 */
export interface DegradedConfig {
  degradedAlertMs: number;
  degradedCriticalMs: number;
  degradedPolicy: DegradedPolicy;
}

/** What the gateway's heartbeat says of the feed, with the outage's start on our clock. */
export interface FeedView {
  dataPath: DataPath;
  /** When the live stream went down (our clock, from the heartbeat's own duration), or null while it streams. */
  liveDownSince: number | null;
}

export interface FeedDegraded extends Escalation {
  since: number;
  openedAt: number;
  critical: boolean;
}

export interface DegradedState extends ExecutorControl {
  feed: FeedView | null;
  degraded: FeedDegraded | null;
}

const carried = (path: DataPath) =>
  path === 'polling'
    ? 'bars are arriving by REST polling'
    : path === 'backfill'
      ? 'bars are arriving by REST backfill'
      : 'no bars are arriving by any path';

export function evaluateDegraded(cfg: DegradedConfig, s: DegradedState, now: number): Action[] {
  const actions: Action[] = [];
  const down = s.feed?.liveDownSince ?? null;
  const path = s.feed?.dataPath ?? 'none';
  const d = s.degraded;
  if (d && down === null) {
    actions.push(
      alert('feed_degraded', 'info', 'resolved', d.id, `live stream back after ${secs(now - d.since)}`, now - d.since, {
        dataPath: path,
        halted: d.halt === 'done',
      }),
    );
    s.degraded = null;
    return actions;
  }
  if (down === null || s.phase === 'closed') return actions;
  const downFor = now - down;
  if (!d && downFor >= cfg.degradedAlertMs) {
    s.degraded = { ...noEscalation(`degraded-${iso(now)}`, now), since: down, openedAt: now, critical: false };
    actions.push(
      alert(
        'feed_degraded',
        'warning',
        'open',
        s.degraded.id,
        `live stream down for ${secs(downFor)}; ${carried(path)}`,
        null,
        { dataPath: path, liveDownSince: iso(down), policy: cfg.degradedPolicy },
      ),
    );
  }
  const open = s.degraded;
  if (!open) return actions;
  if (!open.critical && downFor >= cfg.degradedCriticalMs) {
    open.critical = true;
    actions.push(
      alert(
        'feed_degraded',
        'critical',
        'open',
        open.id,
        `live stream still down after ${secs(downFor)}; ${carried(path)}: a person must look`,
        null,
        { dataPath: path, liveDownSince: iso(down) },
      ),
    );
  }
  if (cfg.degradedPolicy === 'halt') {
    const why = `live stream down for ${secs(downFor)}`;
    actions.push(
      ...haltThenFlatten(s, open, now, {
        due: true,
        flatten: false,
        why,
        opened: alert(
          'feed_degraded',
          'critical',
          'info',
          open.id,
          `halting new orders (DEGRADED_POLICY=halt): ${why}`,
          null,
          { dataPath: path },
        ),
      }),
    );
  }
  return actions;
}
