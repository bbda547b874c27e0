/** alerts: what the system detects that ops must act on, one record per (kind, subject). */
import type { ValidationSchema } from "fastest-validator";
import { ALERT_KINDS, ALERT_STATUSES, type Alert, type AlertKind, type AlertStatus } from "../domain/alerts";
import { pageRules, type PageParams } from "./common";

export type { Alert, AlertKind, AlertStatus } from "../domain/alerts";

/** An alert as answered (the record without its outbox and store fields). */
export type AlertView = Omit<Alert, "_id"> & { id: string };

/** `ops.alert` (a Moleculer event any service emits) and the mesh action `alerts.raise`. */
export interface RaiseAlertParams {
  kind: AlertKind;
  message: string;
  subject?: string;
  data?: Record<string, unknown>;
}

export const raiseAlertParams = {
  $$strict: true,
  kind: { type: "enum", values: [...ALERT_KINDS] },
  message: { type: "string", min: 1, max: 1000 },
  subject: { type: "string", min: 1, max: 200, optional: true },
  data: { type: "object", optional: true },
} satisfies ValidationSchema<RaiseAlertParams>;

export interface ListAlertsParams extends PageParams {
  kind?: AlertKind;
  status?: AlertStatus;
  /** OPEN and ACKNOWLEDGED (the default view of the console). */
  active?: boolean;
  subject?: string;
}

export const listAlertsParams = {
  $$strict: true,
  ...pageRules,
  kind: { type: "enum", values: [...ALERT_KINDS], optional: true },
  status: { type: "enum", values: [...ALERT_STATUSES], optional: true },
  active: { type: "boolean", optional: true, convert: true },
  subject: { type: "string", min: 1, max: 200, optional: true },
} satisfies ValidationSchema<ListAlertsParams>;

export interface AlertIdParams {
  id: string;
}

export const alertIdParams = {
  $$strict: true,
  id: { type: "string", pattern: "^AL[0-9a-f]{24}$", messages: { stringPattern: "'{field}' must be an alert id (AL + 24 hex digits)" } },
} satisfies ValidationSchema<AlertIdParams>;

export interface AlertActionParams extends AlertIdParams {
  note?: string;
}

export const alertActionParams = {
  ...alertIdParams,
  note: { type: "string", min: 1, max: 1000, optional: true },
} satisfies ValidationSchema<AlertActionParams>;

/** Counts of OPEN and ACKNOWLEDGED alerts per kind (the console's badge and the alerts page header). */
export interface AlertSummary {
  open: number;
  acknowledged: number;
  byKind: Partial<Record<AlertKind, { open: number; acknowledged: number }>>;
}
