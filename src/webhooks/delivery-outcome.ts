import { Logger } from '@nestjs/common';
import { Metrics } from '../metrics/metrics';
import { ThreadKey } from '../threads/github-event.types';
import { DeliveryOutcome } from './webhook-delivery.entity';

export interface DeliveryLogEntry {
  deliveryId: string;
  event: string;
  outcome: DeliveryOutcome;
  reason: string | null;
  messages?: number;
  item?: ThreadKey;
}

/**
 * The one log line of a GitHub delivery, once its outcome is known (a warning
 * when it failed), and its count in bridge_github_webhooks_received_total.
 */
export function logDelivery(logger: Logger, metrics: Metrics, entry: DeliveryLogEntry): void {
  metrics.webhookSettled(entry.event, entry.outcome);
  const fields = {
    deliveryId: entry.deliveryId,
    event: entry.event,
    outcome: entry.outcome,
    ...(entry.reason ? { reason: entry.reason } : {}),
    ...(entry.messages ? { messages: entry.messages } : {}),
    ...(entry.item ? { item: `${entry.item.repository}#${entry.item.number}` } : {}),
  };
  if (entry.outcome === 'failed') logger.warn(fields, 'GitHub delivery');
  else logger.log(fields, 'GitHub delivery');
}
