//===- TuningDB.cpp - the tuning database (SQLite) ------------------------===//

#include "attn/Tuning/Tuning.h"
#include "attn/attn_version.h"

#include "llvm/Support/FormatVariadic.h"

#include <sqlite3.h>

#include <algorithm>
#include <ctime>

using namespace mlir;
using namespace mlir::attn;

namespace {

// "attn" in ASCII: files of other applications are refused rather than written into.
constexpr int kApplicationId = 0x6174746e;
constexpr int kSchemaVersion = 1;

const char *kSchema = R"sql(
CREATE TABLE IF NOT EXISTS measurements (
  device TEXT NOT NULL,        -- the target's fingerprint and the threads kernels ran on
  attnc_version TEXT NOT NULL,
  target TEXT NOT NULL,        -- cpu, vulkan, cuda
  problem TEXT NOT NULL,       -- the problem class
  shape TEXT NOT NULL,         -- the shape class it was timed at
  phase TEXT NOT NULL,         -- prefill | decode (from the shape)
  config TEXT NOT NULL,        -- the configuration attribute, as MLIR prints it
  median_us REAL NOT NULL,     -- median launch time, microseconds
  spread REAL NOT NULL,        -- interquartile range / median
  reps INTEGER NOT NULL,       -- timed launches
  heuristic INTEGER NOT NULL,  -- 1: the heuristic's configuration
  work REAL NOT NULL,          -- batch x seq_q x seq_kv of the shape class (for the lookup)
  measured_at TEXT NOT NULL,   -- ISO 8601 UTC
  PRIMARY KEY (device, attnc_version, target, problem, shape, config)
);
)sql";

struct Statement {
  sqlite3_stmt *stmt = nullptr;
  Statement(sqlite3 *db, const char *sql) { sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr); }
  ~Statement() { sqlite3_finalize(stmt); }
  explicit operator bool() const { return stmt != nullptr; }
  void bind(int i, const std::string &s) {
    sqlite3_bind_text(stmt, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, double d) { sqlite3_bind_double(stmt, i, d); }
  void bind(int i, int64_t v) { sqlite3_bind_int64(stmt, i, v); }
  std::string text(int i) {
    const unsigned char *t = sqlite3_column_text(stmt, i);
    return t ? reinterpret_cast<const char *>(t) : "";
  }
};

std::string sqliteError(sqlite3 *db, const std::string &what) {
  return what + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
}

bool exec(sqlite3 *db, const char *sql, std::string &error) {
  char *message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) == SQLITE_OK)
    return true;
  error = message ? message : sqlite3_errmsg(db);
  sqlite3_free(message);
  return false;
}

int queryInt(sqlite3 *db, const char *sql, bool &ok) {
  Statement s(db, sql);
  ok = s && sqlite3_step(s.stmt) == SQLITE_ROW;
  return ok ? sqlite3_column_int(s.stmt, 0) : 0;
}

double workOf(const std::string &shape) {
  // "prefill b1 q2048 kv2048"
  double b = 1, q = 1, kv = 1;
  llvm::SmallVector<llvm::StringRef> parts;
  llvm::StringRef(shape).split(parts, ' ');
  for (llvm::StringRef p : parts) {
    int64_t v = 0;
    if (p.consume_front("kv") && !p.getAsInteger(10, v))
      kv = double(v);
    else if (p.consume_front("q") && !p.getAsInteger(10, v))
      q = double(v);
    else if (p.consume_front("b") && !p.getAsInteger(10, v))
      b = double(v);
  }
  return b * q * kv;
}

} // namespace

std::string mlir::attn::tuningVersion() { return ATTN_VERSION_STRING; }

std::string mlir::attn::utcNow() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

const TuningRow *mlir::attn::chooseRow(const std::vector<TuningRow> &rows) {
  const TuningRow *fastest = nullptr, *heuristic = nullptr;
  for (const TuningRow &r : rows) {
    if (!fastest || r.medianUs < fastest->medianUs)
      fastest = &r;
    if (r.heuristic && (!heuristic || r.medianUs < heuristic->medianUs))
      heuristic = &r;
  }
  if (!fastest || !heuristic || fastest == heuristic)
    return fastest;
  double noise = std::max({0.02, fastest->spread, heuristic->spread});
  return fastest->medianUs < heuristic->medianUs * (1.0 - noise) ? fastest : heuristic;
}

std::unique_ptr<TuningDB> TuningDB::open(const std::string &path, bool create, std::string &error) {
  sqlite3 *db = nullptr;
  int flags = create ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READWRITE;
  if (sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    error = sqliteError(db, "cannot open the tuning database " + path);
    sqlite3_close(db);
    return nullptr;
  }
  std::unique_ptr<TuningDB> result(new TuningDB(db));
  sqlite3_busy_timeout(db, 30000);
  bool ok = false;
  // Reading the header is where a file that is not a database fails ("file is not a database").
  int appId = queryInt(db, "PRAGMA application_id", ok);
  if (!ok) {
    error = sqliteError(db, path + " is not a usable tuning database");
    return nullptr;
  }
  int version = queryInt(db, "PRAGMA user_version", ok);
  int tables = queryInt(db, "SELECT count(*) FROM sqlite_master", ok);
  if (tables == 0 && appId == 0 && version == 0) {
    if (!create) {
      error = path + " is an empty database, not a tuning database";
      return nullptr;
    }
    // A new database: the schema, once (another process may be creating it too).
    std::string sql = std::string("BEGIN IMMEDIATE;") + kSchema +
                      llvm::formatv("PRAGMA application_id = {0}; PRAGMA user_version = {1};",
                                    kApplicationId, kSchemaVersion)
                          .str() +
                      "COMMIT;";
    if (!exec(db, sql.c_str(), error)) {
      exec(db, "ROLLBACK", error);
      error = "cannot create the tuning database " + path + ": " + error;
      return nullptr;
    }
    appId = queryInt(db, "PRAGMA application_id", ok);
    version = queryInt(db, "PRAGMA user_version", ok);
  }
  if (appId != kApplicationId) {
    error = path + " is an SQLite database of another application, not a tuning database";
    return nullptr;
  }
  if (version != kSchemaVersion) {
    error = llvm::formatv("{0} has tuning schema {1}; this attnc reads schema {2}", path, version,
                          kSchemaVersion);
    return nullptr;
  }
  Statement check(db, "PRAGMA quick_check");
  if (!check || sqlite3_step(check.stmt) != SQLITE_ROW || check.text(0) != "ok") {
    error = path + " is corrupt (SQLite's quick_check failed)";
    return nullptr;
  }
  std::string ignored;
  exec(db, "PRAGMA journal_mode = WAL", ignored); // readers do not block the writer
  return result;
}

TuningDB::~TuningDB() { sqlite3_close(db); }

bool TuningDB::put(const std::vector<TuningRow> &rows, bool keepBest, std::string &error) {
  if (!exec(db, "BEGIN IMMEDIATE", error))
    return false;
  std::string sql =
      "INSERT INTO measurements (device, attnc_version, target, problem, shape, phase, config, "
      "median_us, spread, reps, heuristic, work, measured_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
      "ON CONFLICT (device, attnc_version, target, problem, shape, config) DO UPDATE SET "
      "median_us = excluded.median_us, spread = excluded.spread, reps = excluded.reps, "
      "heuristic = excluded.heuristic, measured_at = excluded.measured_at";
  if (keepBest)
    sql += " WHERE excluded.median_us < measurements.median_us";
  Statement insert(db, sql.c_str());
  if (!insert) {
    error = sqliteError(db, "cannot prepare the insert");
    std::string ignored;
    exec(db, "ROLLBACK", ignored);
    return false;
  }
  for (const TuningRow &r : rows) {
    sqlite3_reset(insert.stmt);
    insert.bind(1, r.device);
    insert.bind(2, r.version);
    insert.bind(3, r.target);
    insert.bind(4, r.problem);
    insert.bind(5, r.shape);
    insert.bind(6, r.phase);
    insert.bind(7, r.config);
    insert.bind(8, r.medianUs);
    insert.bind(9, r.spread);
    insert.bind(10, r.reps);
    insert.bind(11, r.heuristic);
    insert.bind(12, workOf(r.shape));
    insert.bind(13, r.measuredAt);
    if (sqlite3_step(insert.stmt) != SQLITE_DONE) {
      error = sqliteError(db, "cannot write a measurement");
      std::string ignored;
      exec(db, "ROLLBACK", ignored);
      return false;
    }
  }
  return exec(db, "COMMIT", error);
}

std::vector<TuningRow> TuningDB::rows(const TuningRow &f, std::string &error) const {
  Statement s(db, "SELECT device, attnc_version, target, problem, shape, phase, config, "
                  "median_us, spread, reps, heuristic, measured_at FROM measurements WHERE "
                  "(?1 = '' OR device = ?1) AND (?2 = '' OR attnc_version = ?2) AND "
                  "(?3 = '' OR target = ?3) AND (?4 = '' OR problem = ?4) AND "
                  "(?5 = '' OR phase = ?5) "
                  "ORDER BY device, attnc_version, target, problem, shape, config");
  std::vector<TuningRow> out;
  if (!s) {
    error = sqliteError(db, "cannot read the measurements");
    return out;
  }
  s.bind(1, f.device);
  s.bind(2, f.version);
  s.bind(3, f.target);
  s.bind(4, f.problem);
  s.bind(5, f.phase);
  int rc;
  while ((rc = sqlite3_step(s.stmt)) == SQLITE_ROW) {
    TuningRow r;
    r.device = s.text(0);
    r.version = s.text(1);
    r.target = s.text(2);
    r.problem = s.text(3);
    r.shape = s.text(4);
    r.phase = s.text(5);
    r.config = s.text(6);
    r.medianUs = sqlite3_column_double(s.stmt, 7);
    r.spread = sqlite3_column_double(s.stmt, 8);
    r.reps = sqlite3_column_int64(s.stmt, 9);
    r.heuristic = sqlite3_column_int64(s.stmt, 10);
    r.measuredAt = s.text(11);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE)
    error = sqliteError(db, "cannot read the measurements");
  return out;
}

std::optional<TuningRow> TuningDB::lookup(const std::string &device, const std::string &version,
                                          const std::string &target, const std::string &problem,
                                          Phase phase, std::string &error) const {
  TuningRow filter;
  filter.device = device;
  filter.version = version;
  filter.target = target;
  filter.problem = problem;
  filter.phase = phaseName(phase);
  std::vector<TuningRow> all = rows(filter, error);
  if (all.empty())
    return std::nullopt;
  double most = 0;
  for (const TuningRow &r : all)
    most = std::max(most, workOf(r.shape));
  std::string shape;
  for (const TuningRow &r : all)
    if (workOf(r.shape) == most && (shape.empty() || r.shape < shape))
      shape = r.shape;
  std::vector<TuningRow> sameShape;
  for (const TuningRow &r : all)
    if (r.shape == shape)
      sameShape.push_back(r);
  const TuningRow *chosen = chooseRow(sameShape);
  return chosen ? std::optional<TuningRow>(*chosen) : std::nullopt;
}

bool TuningDB::hasOtherVersions(const std::string &device, const std::string &version,
                                const std::string &target, const std::string &problem) const {
  Statement s(db, "SELECT 1 FROM measurements WHERE device = ?1 AND attnc_version != ?2 AND "
                  "target = ?3 AND problem = ?4 LIMIT 1");
  if (!s)
    return false;
  s.bind(1, device);
  s.bind(2, version);
  s.bind(3, target);
  s.bind(4, problem);
  return sqlite3_step(s.stmt) == SQLITE_ROW;
}
