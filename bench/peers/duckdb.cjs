// bench/peers/duckdb.cjs — the DuckDB peer for W1 (word count) and W2 (tumbling
// window count per key), through npm's @duckdb/node-api (which ships DuckDB).
//
// Usage: node duckdb.cjs NODE_MODULES_DIR w1|w2 INPUT OUT RUNS THREADS
// Opens one in-memory database (start-up is not timed), then runs the query
// RUNS times; each run reads INPUT and writes the result to OUT with COPY, in
// the same `key ... count` line format as the C baseline. Prints one line
// `run SECONDS` per run on stdout.
'use strict';
const path = require('path');

const [modulesDir, workload, input, out, runsArg, threadsArg] = process.argv.slice(2);
if (!threadsArg) {
  console.error('usage: node duckdb.cjs NODE_MODULES_DIR w1|w2 INPUT OUT RUNS THREADS');
  process.exit(2);
}
const { DuckDBInstance } = require(path.join(modulesDir, '@duckdb/node-api'));

const q = (s) => "'" + s.replace(/'/g, "''") + "'";
const queries = {
  // One column per line (no delimiter occurs in the text), split on spaces.
  w1: `COPY (SELECT w, count(*) FROM (
          SELECT unnest(string_split(line, ' ')) AS w
          FROM read_csv(${q(input)}, columns = {'line': 'VARCHAR'}, header = false,
                        delim = '\x01', quote = '', escape = '', auto_detect = false))
        WHERE w <> '' GROUP BY w)
       TO ${q(out)} (FORMAT csv, DELIMITER ' ', HEADER false, QUOTE '')`,
  w2: `COPY (SELECT (ts // 10000) * 10000, ad, count(*)
        FROM read_csv(${q(input)}, columns = {'ts': 'BIGINT', 'ad': 'UINTEGER', 'type': 'VARCHAR'},
                      header = false, delim = ',', auto_detect = false)
        WHERE type = 'view' GROUP BY ALL)
       TO ${q(out)} (FORMAT csv, DELIMITER ' ', HEADER false, QUOTE '')`,
};

async function main() {
  const sql = queries[workload];
  if (!sql) throw new Error('unknown workload ' + workload);
  const instance = await DuckDBInstance.create(':memory:', { threads: String(threadsArg) });
  const conn = await instance.connect();
  for (let i = 0; i < Number(runsArg); i++) {
    const t0 = process.hrtime.bigint();
    await conn.run(sql);
    const t1 = process.hrtime.bigint();
    console.log('run ' + (Number(t1 - t0) / 1e9).toFixed(4));
  }
}

main().catch((e) => {
  console.error('duckdb peer: ' + e.message);
  process.exit(1);
});
