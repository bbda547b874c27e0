/**
 * Local dates and times in a bank's time zone, on the hot path of every simulated trade.
 *
 * The zone's UTC offset comes from Intl (the IANA database Node ships) and is cached per
 * 15-minute slice of time — every offset change in the tz database falls on a quarter hour — so a
 * trade costs a few integer operations instead of a formatToParts call (luxon spent most of a
 * debit's time there). Wire formats use the tokens yyyy MM dd HH mm ss and 'quoted' literals.
 */
const SLICE_MS = 15 * 60_000;
const formatters = new Map<string, Intl.DateTimeFormat>();
const offsetCache = new Map<string, Map<number, number>>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's offset from UTC in ms at an instant (Asia/Shanghai: +8 h). */
export function offsetMs(ms: number, zone: string): number {
  const slice = Math.floor(ms / SLICE_MS);
  let cache = offsetCache.get(zone);
  if (!cache) {
    cache = new Map();
    offsetCache.set(zone, cache);
  }
  const hit = cache.get(slice);
  if (hit !== undefined) return hit;
  const at = slice * SLICE_MS;
  const p: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(new Date(at))) {
    if (part.type !== "literal") p[part.type] = Number(part.value);
  }
  const off = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - at;
  if (cache.size > 4096) cache.clear();
  cache.set(slice, off);
  return off;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

interface Fields {
  yyyy: string;
  MM: string;
  dd: string;
  HH: string;
  mm: string;
  ss: string;
}

function fields(ms: number, zone: string): Fields {
  const d = new Date(ms + offsetMs(ms, zone));
  return {
    yyyy: pad(d.getUTCFullYear(), 4),
    MM: pad(d.getUTCMonth() + 1),
    dd: pad(d.getUTCDate()),
    HH: pad(d.getUTCHours()),
    mm: pad(d.getUTCMinutes()),
    ss: pad(d.getUTCSeconds()),
  };
}

const TOKENS = /yyyy|MM|dd|HH|mm|ss|'[^']*'/g;

/** Epoch ms → a bank's wire format in its zone, e.g. "yyyyMMddHHmmss". */
export function formatLocal(ms: number, zone: string, format: string): string {
  const f = fields(ms, zone);
  return format.replace(TOKENS, (t) => (t.startsWith("'") ? t.slice(1, -1) : f[t as keyof Fields]));
}

export function localDate(ms: number, zone: string): string {
  const f = fields(ms, zone);
  return `${f.yyyy}-${f.MM}-${f.dd}`;
}

export function localParts(ms: number, zone: string): { date: string; time: string } {
  const f = fields(ms, zone);
  return { date: `${f.yyyy}-${f.MM}-${f.dd}`, time: `${f.HH}:${f.mm}:${f.ss}` };
}

/** A wall-clock time in a zone → epoch ms (for a time that occurs twice, the earlier). */
export function localToMs(y: number, mo: number, d: number, h: number, mi: number, s: number, zone: string): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const guess = wall - offsetMs(wall, zone);
  const fixed = wall - offsetMs(guess, zone);
  return fixed === guess ? guess : Math.min(guess, fixed);
}

const parsers = new Map<string, { re: RegExp; order: string[] }>();

function parser(format: string): { re: RegExp; order: string[] } {
  let p = parsers.get(format);
  if (!p) {
    const order: string[] = [];
    let src = "";
    let last = 0;
    for (const m of format.matchAll(TOKENS)) {
      src += format.slice(last, m.index).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      if (m[0].startsWith("'")) src += m[0].slice(1, -1).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      else {
        order.push(m[0]);
        src += m[0] === "yyyy" ? "(\\d{4})" : "(\\d{2})";
      }
      last = (m.index as number) + m[0].length;
    }
    src += format.slice(last).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    p = { re: new RegExp(`^${src}$`), order };
    parsers.set(format, p);
  }
  return p;
}

function validWall(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

/** A bank's local wall time (in `format`) → ISO-8601 UTC instant, or undefined when it does not parse. */
export function localToIso(text: string, zone: string, format: string): string | undefined {
  const { re, order } = parser(format);
  const m = re.exec(text);
  if (!m) return undefined;
  const v: Record<string, number> = {};
  order.forEach((t, i) => (v[t] = Number(m[i + 1])));
  const { yyyy, MM, dd, HH = 0, mm = 0, ss = 0 } = v;
  if (!validWall(yyyy, MM, dd, HH, mm, ss)) return undefined;
  return new Date(localToMs(yyyy, MM, dd, HH, mm, ss, zone)).toISOString();
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(Z|([+-])(\d{2}):(\d{2}))$/;

/** An ISO-8601 timestamp WITH offset → UTC ISO, or undefined. */
export function isoToUtc(text: string): string | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  if (!validWall(y, mo, d, h, mi, s)) return undefined;
  const off = m[7] === "Z" ? 0 : (m[8] === "-" ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10])) * 60_000;
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s) - off).toISOString();
}

function offsetText(off: number): string {
  const sign = off < 0 ? "-" : "+";
  const min = Math.abs(off) / 60_000;
  return `${sign}${pad(Math.floor(min / 60))}:${pad(min % 60)}`;
}

/** Epoch ms → "2024-03-01T12:00:05+08:00" in the zone. */
export function isoWithOffset(ms: number, zone: string): string {
  const f = fields(ms, zone);
  return `${f.yyyy}-${f.MM}-${f.dd}T${f.HH}:${f.mm}:${f.ss}${offsetText(offsetMs(ms, zone))}`;
}

/** "2024-03-01" + "12:00:05" in a zone → "2024-03-01T12:00:05+08:00". */
export function localWithOffset(date: string, time: string, zone: string): string {
  const [y, mo, d] = date.split("-").map(Number);
  const [h, mi, s] = time.split(":").map(Number);
  const ms = localToMs(y, mo, d, h, mi, s, zone);
  return `${date}T${time}${offsetText(offsetMs(ms, zone))}`;
}
