-- wrk script for `npm run bench:idp`: one request shape given by environment variables, and a count
-- of answers whose body lacks the expected text (so a fast stream of errors is never a result).
--   BENCH_METHOD (GET|POST), BENCH_BODY (form body), BENCH_AUTH (Authorization header),
--   BENCH_EXPECT (text every good answer body contains; empty: any 2xx/3xx answer counts).
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY") or ""
if body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
local auth = os.getenv("BENCH_AUTH") or ""
if auth ~= "" then wrk.headers["Authorization"] = auth end
wrk.headers["Accept"] = "application/json"
local expect = os.getenv("BENCH_EXPECT") or ""

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) unexpected = 0 end
function response(status, headers, resp_body)
  if expect ~= "" and (resp_body == nil or not string.find(resp_body, expect, 1, true)) then
    unexpected = unexpected + 1
  end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + (t:get("unexpected") or 0) end
  io.write(string.format("bench_unexpected_body %d\n", n))
  io.write(string.format("bench_latency_us p50=%d p99=%d\n", latency:percentile(50), latency:percentile(99)))
end
