import { InitialSchema1764300000000 } from './migrations/1764300000000-InitialSchema';
import { FlowdockUsedActionTokens1764400000000 } from './migrations/1764400000000-FlowdockUsedActionTokens';
import { FlowdockDelivery1764400000001 } from './migrations/1764400000001-FlowdockDelivery';
import { AuthLinks1764500000000 } from './migrations/1764500000000-AuthLinks';
import { GitHubWebhooks1764600000000 } from './migrations/1764600000000-GitHubWebhooks';
import { FlowdockSetupState1764700000000 } from './migrations/1764700000000-FlowdockSetupState';
import { WebhookInbox1764800000000 } from './migrations/1764800000000-WebhookInbox';
import { FlowdockDueThreads1764800000001 } from './migrations/1764800000001-FlowdockDueThreads';
import { LinkingContext1764900000000 } from './migrations/1764900000000-LinkingContext';
import { SubscriptionRules1765000000000 } from './migrations/1765000000000-SubscriptionRules';
import { DeliveryLog1765100000000 } from './migrations/1765100000000-DeliveryLog';
import { SentMessageRetention1765200000000 } from './migrations/1765200000000-SentMessageRetention';
import { Conversations1765300000000 } from './migrations/1765300000000-Conversations';

/**
 * Every migration, oldest first. `npm run migration:generate -- src/database/migrations/Name`
 * writes a new file; add its class here.
 */
export const migrations = [
  InitialSchema1764300000000,
  FlowdockUsedActionTokens1764400000000,
  FlowdockDelivery1764400000001,
  AuthLinks1764500000000,
  GitHubWebhooks1764600000000,
  FlowdockSetupState1764700000000,
  WebhookInbox1764800000000,
  FlowdockDueThreads1764800000001,
  LinkingContext1764900000000,
  SubscriptionRules1765000000000,
  DeliveryLog1765100000000,
  SentMessageRetention1765200000000,
  Conversations1765300000000,
];
