/** A live bar arrives after its minute ends, sometimes seconds late on IEX: two minutes is as live as bars get. */
const LIVE_BAR_MAX_AGE_MS = 2 * 60_000;

/**
 * Does a bar show that data is flowing now? Only if it ended recently: a backfill after an outage brings a
 * burst of old bars, which proves the gateway works but not that the feed is live, and must not resolve an
 * incident (and resume the executor) on its own. Ages are on the broker's clock; NO_BAR_ALERT_MS (ours) is
 * converted by the clock's measured speed (the simulator's runs fast), and never allows less than a live
 * bar's own age. Without a broker clock reading, arrival is all there is: the bar counts.
 */
export function showsFreshData(
  barEndMs: number,
  brokerNowMs: number | null,
  clockRate: number,
  noBarAlertMs: number,
): boolean {
  if (brokerNowMs === null) return true;
  return brokerNowMs - barEndMs <= Math.max(noBarAlertMs * clockRate, LIVE_BAR_MAX_AGE_MS);
}
