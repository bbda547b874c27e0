/** The provider a node uses, chosen once by configuration (NOTIFIER_PROVIDER). */
import type { Config } from "../../config";
import { HttpSmsProvider } from "./http";
import type { SmsProvider } from "./provider";
import { SimSmsProvider } from "./sim";

export type { SmsProvider, SmsSendRequest, SmsSendResult } from "./provider";
export { SimSmsProvider } from "./sim";
export { HttpSmsProvider } from "./http";

export function createSmsProvider(cfg: Pick<Config, "notifierProvider" | "notifierHttpUrl">): SmsProvider {
  if (cfg.notifierProvider === "http") return new HttpSmsProvider({ url: cfg.notifierHttpUrl as string });
  return new SimSmsProvider();
}
