/**
 * sim-banks — the simulated banks A–D that ship with RepayMesh, for demos, tests and load runs.
 * It OWNS the banks: their state and their journals live on the one node that runs it, and every
 * other node reaches them through `bankCall` (each bank's own wire request, sent by that bank's
 * client over the mesh as a real bank is reached over HTTPS; see mixins/channels.mixin.ts). A second
 * node offering it is refused at start, so no two processes ever write one journal and a
 * reconfiguration reaches the bank every node uses.
 *
 * Ops: see and change how each bank behaves (success rate, failure mix, UNKNOWN rate and settle
 * delay, latency, outage), open or fund test cards, and download a day's statement in the bank's own
 * layout. A real bank adapter has none of this. Settings given in SIM_BANKS_CONFIG (JSON, per bank
 * code) apply at start.
 */
import { Readable } from "node:stream";
import { Errors, type Context, type ServiceSchema } from "moleculer";
import { actorOf } from "../mixins/actor";
import type { ValidationSchema } from "fastest-validator";
import type { Config } from "../config";
import { DomainError } from "../domain/errors";
import { ConfigError } from "../config";
import { ChannelsMixin, LARGE_ANSWER_BYTES } from "../mixins/channels.mixin";
import { ChannelUnavailableError } from "../channels/channel";
import { answerBankCall, OPERATIONS, type BankCallAnswer, type BankCallParams, type SimBankEndpoint } from "../channels";
import { ClockMixin } from "../mixins/clock.mixin";
import { amountRule, dateRule } from "../contracts/common";

const codeRule = { type: "string", pattern: "^[A-Z0-9_]{1,16}$" } as const;
const probability = { type: "number", min: 0, max: 1, optional: true } as const;

interface ConfigureParams {
  code: string;
  successRate?: number;
  unknownRate?: number;
  unknownSettleMs?: number;
  latencyMs?: { min: number; max: number };
  outage?: boolean;
  failureMix?: Record<string, number>;
}
const configureParams = {
  $$strict: true,
  code: codeRule,
  successRate: probability,
  unknownRate: probability,
  unknownSettleMs: { type: "number", integer: true, min: 0, max: 7 * 86_400_000, optional: true },
  latencyMs: { type: "object", strict: true, optional: true, props: { min: { type: "number", integer: true, min: 0, max: 60_000 }, max: { type: "number", integer: true, min: 0, max: 60_000 } } },
  outage: { type: "boolean", optional: true },
  failureMix: {
    type: "object",
    strict: true,
    optional: true,
    props: {
      INSUFFICIENT_BALANCE: { type: "number", min: 0, optional: true },
      CARD_FROZEN: { type: "number", min: 0, optional: true },
      LIMIT_EXCEEDED: { type: "number", min: 0, optional: true },
      CHANNEL_ERROR: { type: "number", min: 0, optional: true },
    },
  },
} satisfies ValidationSchema<ConfigureParams>;

const bankCallParams = {
  $$strict: true,
  code: codeRule,
  op: { type: "enum", values: [...OPERATIONS] },
  req: { type: "object" },
} satisfies ValidationSchema<BankCallParams>;

interface AccountParams {
  code: string;
  cardNo: string;
  balance: string;
  frozen?: boolean;
}
const accountParams = {
  $$strict: true,
  code: codeRule,
  cardNo: { type: "string", pattern: "^\\d{8,32}$" },
  balance: amountRule,
  frozen: { type: "boolean", optional: true },
} satisfies ValidationSchema<AccountParams>;

function view(bank: any) {
  const c = bank.config;
  return {
    code: bank.code,
    successRate: c.successRate,
    unknownRate: c.unknownRate,
    unknownSettleMs: c.unknownSettleMs,
    latencyMs: c.latencyMs,
    outage: c.outage,
    failureMix: c.failureMix,
    limits: c.limits,
    fees: c.fees,
    merchantBalance: bank.merchantBalance(),
    trades: bank.trades().length,
  };
}

export default function simBanksService(cfg: Config): ServiceSchema {
  return {
    name: "sim-banks",
    mixins: [ClockMixin(cfg.timeZone), ChannelsMixin(cfg)],
    settings: { rest: "/" },
    actions: {
      /**
       * One request to a bank, in that bank's own wire format, from a node that does not keep the
       * banks: through the bank's end of the line (its simulated latency and outages). Not a REST
       * route; the answer is the bank's wire answer, or `refused` (nothing reached the bank). A large
       * answer (a busy day's statement) goes back as a stream of its JSON text, in chunks the
       * transporter can carry (NATS refuses a message over its max payload, 1 MB by default).
       */
      bankCall: {
        visibility: "public",
        params: bankCallParams,
        async handler(this: any, ctx: Context<BankCallParams>): Promise<BankCallAnswer | Readable> {
          const endpoint: SimBankEndpoint | undefined = this.simEndpoints.get(ctx.params.code);
          if (!endpoint) return { refused: `no simulated bank ${ctx.params.code}` };
          const answer = await answerBankCall(endpoint, ctx.params.op, ctx.params.req);
          const text = Buffer.from(JSON.stringify(answer), "utf8");
          return text.length > LARGE_ANSWER_BYTES ? Readable.from([text]) : answer;
        },
      },
      list: {
        rest: "GET /sim-banks",
        doc: { summary: "The simulated banks and how they behave", tags: ["sim-banks"] },
        handler(this: any) {
          return [...this.simBanks.values()].map(view);
        },
      },
      configure: {
        rest: "PUT /sim-banks/:code",
        params: configureParams,
        doc: { summary: "Change how a simulated bank behaves (success rate, UNKNOWN rate, latency, outage…)", tags: ["sim-banks"], role: "admin" },
        handler(this: any, ctx: Context<ConfigureParams>) {
          const { code, ...patch } = ctx.params;
          const bank = this.bank(code);
          if (patch.latencyMs && patch.latencyMs.min > patch.latencyMs.max) throw new DomainError("VALIDATION_ERROR", "latencyMs.min must not exceed max", { field: "latencyMs" });
          bank.configure(patch);
          this.logger.info(`Simulated bank ${code} reconfigured by ${actorOf(ctx)}`);
          return view(bank);
        },
      },
      account: {
        rest: "PUT /sim-banks/:code/accounts",
        params: accountParams,
        doc: { summary: "Open or fund a test card at a simulated bank (and freeze or unfreeze it)", tags: ["sim-banks"], role: "admin" },
        handler(this: any, ctx: Context<AccountParams>) {
          const { code, cardNo, balance, frozen } = ctx.params;
          const bank = this.bank(code);
          if (bank.hasAccount(cardNo)) bank.setBalance(cardNo, balance);
          else bank.openAccount(cardNo, balance);
          if (frozen === true) bank.freeze(cardNo);
          if (frozen === false) bank.unfreeze(cardNo);
          return { code, cardNo: "****" + cardNo.slice(-4), balance: bank.balanceOf(cardNo), frozen: bank.isFrozen(cardNo) };
        },
      },
      statement: {
        rest: "GET /sim-banks/:code/statement",
        params: { $$strict: true, code: codeRule, date: dateRule },
        doc: { summary: "A simulated bank's statement file for a business date, in its own CSV layout", tags: ["sim-banks"] },
        async handler(this: any, ctx: Context<{ code: string; date: string }>) {
          this.bank(ctx.params.code);
          let csv: string;
          try {
            csv = await this.channels.get(ctx.params.code).statement(ctx.params.date);
          } catch (err) {
            // The bank is down (outage) or did not answer: the caller may ask again later — 503, not a fault of ours.
            if (err instanceof ChannelUnavailableError) {
              throw new Errors.MoleculerRetryableError(`${err.channel} cannot deliver its statement now; try again later`, 503, "BANK_UNAVAILABLE", { channel: err.channel, kind: err.kind });
            }
            throw err;
          }
          (ctx.meta as any).$responseType = "text/csv; charset=utf-8";
          return csv;
        },
      },
    },
    methods: {
      bank(this: any, code: string) {
        const bank = this.simBanks.get(code);
        if (!bank) throw new DomainError("NOT_FOUND", `No simulated bank ${code}`, { code });
        return bank;
      },
    },
    async started(this: any) {
      // One bank per bank code for the whole cluster: a second node keeping banks is refused.
      if (this.broker.transit) {
        await new Promise((r) => setTimeout(r, 1000)); // let discovery answer first
        const elsewhere = this.broker.registry
          .getServiceList({ onlyAvailable: true })
          .filter((s: { name: string; nodeID: string }) => s.name === "sim-banks" && s.nodeID !== this.broker.nodeID);
        if (elsewhere.length > 0) {
          throw new ConfigError(
            `Service sim-banks already runs on node ${elsewhere[0].nodeID}; the simulated banks must run on exactly one node (every other node reaches them over the mesh).`,
          );
        }
      }
      const raw = process.env.SIM_BANKS_CONFIG;
      if (!raw) return;
      let parsed: Record<string, Record<string, unknown>>;
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw new DomainError("VALIDATION_ERROR", "SIM_BANKS_CONFIG must be JSON: { \"BANK_A\": { \"successRate\": 0.9 }, … }", { field: "SIM_BANKS_CONFIG" });
      }
      for (const [code, patch] of Object.entries(parsed)) this.bank(code).configure(patch);
      this.logger.info(`Simulated banks configured from SIM_BANKS_CONFIG: ${Object.keys(parsed).join(", ")}`);
    },
  } as ServiceSchema;
}
