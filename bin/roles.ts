/**
 * The cluster's node roles: which services each kind of node runs (SERVICES=…). One list for the
 * local cluster (`npm run cluster`), the compose file (test/unit/compose.test.ts checks it against
 * this) and the README.
 *
 *  - gateway:  the REST API and the console; owns no data.
 *  - core:     the business clock, the rule sets and the simulated banks. One node only: the banks
 *              have one keeper whatever the store (a second node offering sim-banks refuses to start).
 *  - worker:   every other data-owning service. On MongoDB any number of workers; on the file store
 *              a data-owning service runs on exactly one node (a second one refuses to start).
 *  - executor: the partitioned jobs that own no data (debit slots, payouts, the overdue accrual):
 *              any number of executors, whatever the store.
 */
export const NODE_GROUPS = {
  gateway: ["api"],
  core: ["clock", "rules", "sim-banks"],
  worker: ["schedule", "order-sync", "sign-bind", "ledger", "asset-transfer", "reconciler", "webhooks", "notifier", "alerts"],
  executor: ["deduction-executor", "fee-calculator"],
} as const satisfies Record<string, readonly string[]>;

export type NodeGroup = keyof typeof NODE_GROUPS;
