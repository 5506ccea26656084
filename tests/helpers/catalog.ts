// A normalised dump of the schema objects in `public` and `utility`, for comparing databases with each other and
// with the expected catalogue in tests/database/catalog.test.ts. Objects that belong to extensions are left out.
import type { Pool } from "../../services/shared/src/database/pool.ts";

export const SCHEMAS = ["public", "utility"];

export interface CatalogDump {
  /** "schema.table" → its columns in order, then its constraints, indexes and triggers (one line each, sorted). */
  tables: Record<string, string[]>;
  /** "schema.name(args) returns type language volatility", sorted. */
  functions: string[];
  /** Full `create function` text per function signature. */
  functionBodies: Record<string, string>;
  /** Every relation (table, index, sequence, view, ...) and type (but implicit array types) in the schemas, sorted. */
  objects: string[];
  /** Non-system schemas that exist. */
  schemas: string[];
}

type Db = Pick<Pool, "query">;

const SHORT_TYPES: Record<string, string> = {
  "character varying": "varchar",
  "timestamp with time zone": "timestamptz",
};

function shortType(type: string): string {
  const match = /^([^(]+)(\(.*\))?$/.exec(type)!;
  return `${SHORT_TYPES[match[1]!] ?? match[1]}${match[2] ?? ""}`;
}

const unqualified = (text: string) => text.replaceAll("public.", "");

/** "PRIMARY KEY (id)" → "pk: tenant_pkey (id)", "FOREIGN KEY (a) REFERENCES t(id) ON DELETE CASCADE" → "fk: ...". */
function constraintLine(name: string, type: string, definition: string): string {
  const body = unqualified(definition);
  if (type === "p") return `pk: ${name} ${body.replace(/^PRIMARY KEY /, "")}`;
  if (type === "u") return `unique: ${name} ${body.replace(/^UNIQUE /, "")}`;
  if (type === "f") {
    const fk = /^FOREIGN KEY (\(.+?\)) REFERENCES (.+?\(.+?\))(.*)$/.exec(body);
    if (fk) return `fk: ${name} ${fk[1]} -> ${fk[2]}${fk[3]!.toLowerCase()}`;
  }
  return `constraint: ${name} ${body}`;
}

/** "CREATE INDEX ix ON public.t USING gin (name gin_trgm_ops) WHERE (...)" → "index: ix gin (name gin_trgm_ops) where (...)". */
function indexLine(name: string, definition: string): string {
  const [head, predicate] = unqualified(definition).split(" WHERE ");
  const match = /^CREATE (UNIQUE )?INDEX \S+ ON \S+ USING (\w+) (\(.*\))$/.exec(head!);
  if (!match) return `index: ${name} ${definition}`;
  const [, unique, method, columns] = match;
  return `${unique ? "unique index" : "index"}: ${name} ${method === "btree" ? "" : `${method} `}${columns}${
    predicate ? ` where ${predicate}` : ""
  }`;
}

/**
 * "CREATE TRIGGER t BEFORE UPDATE ON public.x FOR EACH ROW EXECUTE FUNCTION f()" → "trigger: t before update row -> f()";
 * a transition table shows as "… statement referencing new table as n -> f()".
 */
function triggerLine(name: string, definition: string): string {
  const match =
    /^CREATE TRIGGER \S+ (BEFORE|AFTER|INSTEAD OF) (.+?) ON \S+ (?:(REFERENCING .+?) )?FOR EACH (ROW|STATEMENT) EXECUTE FUNCTION (.+)$/.exec(
      unqualified(definition),
    );
  if (!match) return `trigger: ${name} ${definition}`;
  const [, timing, events, referencing, level, call] = match;
  return `trigger: ${name} ${timing!.toLowerCase()} ${events!.toLowerCase()} ${level!.toLowerCase()}${
    referencing ? ` ${referencing.toLowerCase()}` : ""
  } -> ${call}`;
}

export async function dumpCatalog(db: Db): Promise<CatalogDump> {
  const tables: Record<string, string[]> = {};
  const extras: Record<string, string[]> = {};
  const add = (table: string, line: string) => (extras[table] ??= []).push(line);

  const columns = await db.query<{ tbl: string; name: string; type: string; not_null: boolean; default: string | null }>(
    `select n.nspname || '.' || c.relname as tbl, a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
            a.attnotnull as not_null, pg_get_expr(d.adbin, d.adrelid) as default
     from pg_attribute a
     join pg_class c on c.oid = a.attrelid
     join pg_namespace n on n.oid = c.relnamespace
     left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
     where n.nspname = any($1) and c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped
     order by n.nspname, c.relname, a.attnum`,
    [SCHEMAS],
  );
  for (const column of columns.rows) {
    (tables[column.tbl] ??= []).push(
      [column.name, shortType(column.type), column.not_null ? "not null" : "", column.default ? `default ${column.default}` : ""]
        .filter(Boolean)
        .join(" "),
    );
  }

  const constraints = await db.query<{ tbl: string; name: string; type: string; definition: string }>(
    `select n.nspname || '.' || c.relname as tbl, con.conname as name, con.contype as type,
            pg_get_constraintdef(con.oid) as definition
     from pg_constraint con
     join pg_class c on c.oid = con.conrelid
     join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any($1)`,
    [SCHEMAS],
  );
  for (const row of constraints.rows) add(row.tbl, constraintLine(row.name, row.type, row.definition));

  // indexes that back a primary key or unique constraint are covered by the constraint's line
  const indexes = await db.query<{ tbl: string; name: string; definition: string }>(
    `select n.nspname || '.' || c.relname as tbl, i.relname as name, pg_get_indexdef(x.indexrelid) as definition
     from pg_index x
     join pg_class c on c.oid = x.indrelid
     join pg_class i on i.oid = x.indexrelid
     join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any($1)
       and not exists (select 1 from pg_constraint con where con.conindid = x.indexrelid and con.contype in ('p', 'u'))`,
    [SCHEMAS],
  );
  for (const row of indexes.rows) add(row.tbl, indexLine(row.name, row.definition));

  const triggers = await db.query<{ tbl: string; name: string; definition: string }>(
    `select n.nspname || '.' || c.relname as tbl, t.tgname as name, pg_get_triggerdef(t.oid) as definition
     from pg_trigger t
     join pg_class c on c.oid = t.tgrelid
     join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any($1) and not t.tgisinternal`,
    [SCHEMAS],
  );
  for (const row of triggers.rows) add(row.tbl, triggerLine(row.name, row.definition));

  for (const [table, lines] of Object.entries(extras)) (tables[table] ??= []).push(...lines.sort());

  const functions = await db.query<{ signature: string; result: string; language: string; volatility: string; body: string }>(
    `select n.nspname || '.' || p.proname || '(' || pg_get_function_arguments(p.oid) || ')' as signature,
            pg_get_function_result(p.oid) as result, l.lanname as language,
            case p.provolatile when 'i' then 'immutable' when 's' then 'stable' else 'volatile' end as volatility,
            pg_get_functiondef(p.oid) as body
     from pg_proc p
     join pg_namespace n on n.oid = p.pronamespace
     join pg_language l on l.oid = p.prolang
     where n.nspname = any($1)
       and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')`,
    [SCHEMAS],
  );

  const objects = await db.query<{ line: string }>(
    `select n.nspname || '.' || c.relname || ' ' || c.relkind::text as line
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any($1) and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e')
     union all
     select n.nspname || '.' || t.typname || ' type ' || t.typtype::text
     from pg_type t join pg_namespace n on n.oid = t.typnamespace
     where n.nspname = any($1) and not exists (select 1 from pg_depend d where d.objid = t.oid and d.deptype = 'e')
       and not exists (select 1 from pg_type element where element.typarray = t.oid)`,
    [SCHEMAS],
  );

  const schemas = await db.query<{ nspname: string }>(
    `select nspname from pg_namespace
     where nspname not like 'pg\\_%' and nspname <> 'information_schema' order by nspname`,
  );

  return {
    tables,
    functions: functions.rows.map((f) => `${f.signature} returns ${f.result} language ${f.language} ${f.volatility}`).sort(),
    functionBodies: Object.fromEntries(functions.rows.map((f) => [f.signature, f.body])),
    objects: objects.rows.map((row) => row.line).sort(),
    schemas: schemas.rows.map((row) => row.nspname),
  };
}
