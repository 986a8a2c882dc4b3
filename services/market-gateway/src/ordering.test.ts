import type { Bar } from '@vigil/contracts';
import { describe, expect, it } from 'vitest';
import { testBar } from '../test/bars.js';
import {
  decide,
  initialOrder,
  RECENT_SENT,
  type OrderAction,
  type OrderEvent,
  type Outcome,
  type SymbolOrder,
} from './ordering.js';

const at = (hhmm: string): string => `2026-11-27T${hhmm}:00.000Z`;

const bar = (source: Bar['source'], hhmm: string, close = 100): Bar => testBar('SPY', hhmm, source, close);

/**
 * One event per string: `hold`, `release`, `live 13:45`, `backfill 13:45`, `poll 13:45`, a close other than 100
 * as `live 13:45 @101`, an `updatedBars` correction as `correction 13:45 @101`, the last bar the stream stored as
 * `resume 13:44` or `resume 13:44 r2`, a minute the audit stored as `repaired 13:45`; a leading `full` says the
 * buffer is full for that event.
 */
function parse(spec: string): OrderEvent {
  const [first, ...rest] = spec.split(' ');
  const full = first === 'full';
  const [kind, hhmm = '', extra] = full ? rest : [first, ...rest];
  const close = extra?.startsWith('@') ? Number(extra.slice(1)) : 100;
  switch (kind) {
    case 'hold':
      return { type: 'hold' };
    case 'release':
      return { type: 'release', full };
    case 'resume':
      return { type: 'resume', t: Date.parse(at(hhmm)), revision: extra ? Number(extra.slice(1)) : 0 };
    case 'correction':
      return { type: 'correction', bar: bar('live', hhmm, close), full };
    case 'repaired':
      return { type: 'repaired', t: Date.parse(at(hhmm)) };
    case 'live':
    case 'backfill':
    case 'poll':
      return { type: 'bar', bar: bar(kind, hhmm, close), full };
    default:
      throw new Error(`unknown event "${spec}"`);
  }
}

/** `13:45 live`, with ` r<n>` for a revision and ` @<close>` for a close other than 100. */
const show = (b: Bar): string =>
  `${b.t.slice(11, 16)} ${b.source}${b.revision > 0 ? ` r${b.revision}` : ''}${b.close !== 100 ? ` @${b.close}` : ''}`;

function run(specs: readonly string[]): { state: SymbolOrder; actions: OrderAction[]; outcomes: Outcome[] } {
  let state = initialOrder;
  const actions: OrderAction[] = [];
  const outcomes: Outcome[] = [];
  for (const spec of specs) {
    const d = decide(state, parse(spec));
    state = d.state;
    actions.push(...d.actions);
    if (d.outcome) outcomes.push(d.outcome);
  }
  return { state, actions, outcomes };
}

interface Row {
  rule: string;
  events: string[];
  /** The bars sent to JetStream, in order. */
  published: string[];
  /** Bars not sent: `<bar>: gateway | held_live` (already out) or `<bar>: overflow` (refused, buffer full). */
  dropped?: string[];
  /** Live bars still waiting at the end. */
  held?: string[];
  /** What became of each bar and correction event, in order. */
  outcomes?: Outcome[];
}

const rows: Row[] = [
  {
    rule: 'live bars go out as they come and move the high-water mark',
    events: ['live 13:45', 'live 13:46'],
    published: ['13:45 live', '13:46 live'],
    outcomes: ['queued', 'queued'],
  },
  {
    rule: 'a bar at or before the high-water mark is a duplicate, whatever its source',
    events: ['live 13:45', 'live 13:45', 'backfill 13:45', 'poll 13:45'],
    published: ['13:45 live'],
    dropped: ['13:45 live: gateway', '13:45 backfill: gateway', '13:45 poll: gateway'],
    outcomes: ['queued', 'skipped', 'skipped', 'skipped'],
  },
  {
    rule: 'a late live bar while not held is already covered by the mark (the gateway holds before a gap instead)',
    events: ['live 13:46', 'live 13:45'],
    published: ['13:46 live'],
    dropped: ['13:45 live: gateway'],
  },
  {
    rule: 'a restart carries on after the last bar the stream stored',
    events: ['resume 13:44', 'backfill 13:44', 'backfill 13:45', 'live 13:46'],
    published: ['13:45 backfill', '13:46 live'],
    dropped: ['13:44 backfill: gateway'],
  },
  {
    rule: 'while held, live bars wait behind the backfill, which goes out first',
    events: ['hold', 'live 13:47', 'backfill 13:45', 'backfill 13:46', 'release'],
    published: ['13:45 backfill', '13:46 backfill', '13:47 live'],
    outcomes: ['held', 'queued', 'queued'],
  },
  {
    rule: 'live bars that arrived out of order while held go out in time order at release',
    events: ['resume 13:44', 'hold', 'live 13:47', 'live 13:45', 'live 13:46', 'release'],
    published: ['13:45 live', '13:46 live', '13:47 live'],
  },
  {
    rule: 'a backfill bar older than the held bars leaves them waiting',
    events: ['hold', 'live 13:47', 'backfill 13:45'],
    published: ['13:45 backfill'],
    held: ['13:47 live'],
  },
  {
    rule: 'a held live copy of a minute goes out instead of the backfill copy, keeping its live label',
    events: ['hold', 'live 13:47', 'backfill 13:46', 'backfill 13:47', 'release'],
    published: ['13:46 backfill', '13:47 live'],
    dropped: ['13:47 backfill: held_live'],
    outcomes: ['held', 'queued', 'skipped'],
  },
  {
    rule: 'stop 9: live 13:45 and 13:46 held while a slow backfill brings 13:45–13:47, nothing lost',
    events: ['hold', 'live 13:45', 'live 13:46', 'backfill 13:45', 'backfill 13:46', 'backfill 13:47', 'release'],
    published: ['13:45 live', '13:46 live', '13:47 backfill'],
    dropped: ['13:45 backfill: held_live', '13:46 backfill: held_live'],
    outcomes: ['held', 'held', 'skipped', 'skipped', 'queued'],
  },
  {
    rule: 'stop 9 with the live bars out of order and a newer one waiting past the backfill',
    events: [
      'hold',
      'live 13:46',
      'live 13:45',
      'backfill 13:44',
      'backfill 13:45',
      'backfill 13:46',
      'backfill 13:47',
      'live 13:48',
      'release',
    ],
    published: ['13:44 backfill', '13:45 live', '13:46 live', '13:47 backfill', '13:48 live'],
    dropped: ['13:45 backfill: held_live', '13:46 backfill: held_live'],
  },
  {
    rule: 'stop 9, the backfill skipping straight past the held minutes: they still go out first',
    events: ['hold', 'live 13:45', 'live 13:46', 'backfill 13:47', 'release'],
    published: ['13:45 live', '13:46 live', '13:47 backfill'],
  },
  {
    rule: 'poll bars follow the backfill rules while held',
    events: ['hold', 'live 13:46', 'poll 13:45', 'poll 13:46', 'poll 13:47', 'release'],
    published: ['13:45 poll', '13:46 live', '13:47 poll'],
    dropped: ['13:46 poll: held_live'],
  },
  {
    rule: 'poll bars while not held go straight out, and the live copy after them is a duplicate',
    events: ['live 13:45', 'poll 13:46', 'poll 13:47', 'live 13:46', 'live 13:48'],
    published: ['13:45 live', '13:46 poll', '13:47 poll', '13:48 live'],
    dropped: ['13:46 live: gateway'],
  },
  {
    rule: 'a held live bar already out by release time is a duplicate',
    events: ['live 13:46', 'hold', 'live 13:45', 'release'],
    published: ['13:46 live'],
    dropped: ['13:45 live: gateway'],
  },
  {
    rule: 'corrections of a bar already out are revisions, numbered in turn',
    events: ['live 13:45', 'correction 13:45 @101', 'correction 13:45 @102'],
    published: ['13:45 live', '13:45 live r1 @101', '13:45 live r2 @102'],
    outcomes: ['queued', 'queued', 'queued'],
  },
  {
    rule: 'revisions carry on from the one the stream stored',
    events: ['resume 13:45 r2', 'correction 13:45 @103'],
    published: ['13:45 live r3 @103'],
  },
  {
    rule: 'a correction of a bar still held takes its place: the corrected values go out, once',
    events: ['hold', 'live 13:45', 'correction 13:45 @101', 'release'],
    published: ['13:45 live @101'],
    outcomes: ['held', 'held'],
  },
  {
    rule: 'a revision made while held waits with the live bars and goes out in time order',
    events: ['live 13:45', 'hold', 'correction 13:45 @101', 'live 13:46', 'release'],
    published: ['13:45 live', '13:45 live r1 @101', '13:46 live'],
  },
  {
    rule: 'a correction of a bar never seen is an ordinary bar',
    events: ['live 13:44', 'correction 13:45 @101'],
    published: ['13:44 live', '13:45 live @101'],
  },
  {
    rule: "a correction of a recent minute the mark passed with no bar out is that minute's first bar",
    events: ['live 13:44', 'live 13:46', 'correction 13:45 @101', 'correction 13:45 @102'],
    published: ['13:44 live', '13:46 live', '13:45 live @101', '13:45 live r1 @102'],
    outcomes: ['queued', 'queued', 'queued', 'queued'],
  },
  {
    rule: 'a correction of a minute older than those remembered is numbered as a revision',
    events: ['resume 13:45', 'live 13:46', 'correction 13:40 @101'],
    published: ['13:46 live', '13:40 live r1 @101'],
  },
  {
    rule: 'a minute the audit stored counts as out: its correction is a revision',
    events: ['live 13:44', 'live 13:46', 'repaired 13:45', 'correction 13:45 @101'],
    published: ['13:44 live', '13:46 live', '13:45 live r1 @101'],
  },
  {
    rule: 'a full buffer refuses a correction of a minute never out, like any bar',
    events: ['live 13:44', 'live 13:46', 'full correction 13:45 @101'],
    published: ['13:44 live', '13:46 live'],
    dropped: ['13:45 live @101: overflow'],
  },
  {
    rule: 'a full buffer refuses a bar without marking it out, so a later copy still goes',
    events: ['live 13:45', 'full live 13:46', 'backfill 13:46'],
    published: ['13:45 live', '13:46 backfill'],
    dropped: ['13:46 live: overflow'],
    outcomes: ['queued', 'overflow', 'queued'],
  },
  {
    rule: 'a full buffer at release refuses the waiting bars, and the backfill after it fetches them',
    events: ['hold', 'live 13:45', 'full release', 'backfill 13:45'],
    published: ['13:45 backfill'],
    dropped: ['13:45 live: overflow'],
  },
];

describe('ordering: which bar goes out when', () => {
  it.each(rows)('$rule', ({ events, published, dropped = [], held = [], outcomes }) => {
    const r = run(events);
    expect(r.actions.flatMap((a) => (a.type === 'publish' ? [show(a.bar)] : []))).toEqual(published);
    expect(
      r.actions.flatMap((a) =>
        a.type === 'skip' ? [`${show(a.bar)}: ${a.by}`] : a.type === 'refuse' ? [`${show(a.bar)}: overflow`] : [],
      ),
    ).toEqual(dropped);
    expect((r.state.held ?? []).map(show)).toEqual(held);
    if (outcomes) expect(r.outcomes).toEqual(outcomes);
  });

  it('publishes under the dedup id of the bar and its revision, and reports each numbered revision', () => {
    const { actions } = run(['live 13:45', 'correction 13:45 @101']);
    expect(actions).toEqual([
      { type: 'publish', bar: expect.objectContaining({ revision: 0 }), msgId: 'SPY:2026-11-27T13:45:00.000Z' },
      { type: 'revise', bar: expect.objectContaining({ revision: 1, close: 101 }) },
      {
        type: 'publish',
        bar: expect.objectContaining({ revision: 1, close: 101 }),
        msgId: 'SPY:2026-11-27T13:45:00.000Z:r1',
      },
    ]);
  });

  it('remembers the newest RECENT_SENT minutes out, and tells a skipped one only among them', () => {
    const hhmm = (i: number) => `13:${String(i).padStart(2, '0')}`;
    // 13:00–13:39 out, but for 13:30: the newest RECENT_SENT reach back past 13:30, not to 13:02.
    const live = Array.from({ length: 40 }, (_, i) => i)
      .filter((i) => i !== 30)
      .map((i) => `live ${hhmm(i)}`);
    const r = run([...live, 'correction 13:30 @101', 'correction 13:02 @101']);
    expect(r.state.recent).toHaveLength(RECENT_SENT);
    const corrections = r.actions.flatMap((a) => (a.type === 'publish' && a.bar.close === 101 ? [a.msgId] : []));
    expect(corrections).toEqual(['SPY:2026-11-27T13:30:00.000Z', 'SPY:2026-11-27T13:02:00.000Z:r1']);
  });

  it('leaves the state it was given untouched', () => {
    const held = run(['hold', 'live 13:46']).state;
    const snapshot = structuredClone(held);
    decide(held, parse('backfill 13:46'));
    decide(held, parse('correction 13:46 @101'));
    decide(held, parse('release'));
    expect(held).toEqual(snapshot);
  });
});
