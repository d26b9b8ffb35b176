-- wrk script: POST the JSON bodies in the file named by BENCH_BODIES (one a line) in turn to
-- BENCH_PATH, and end with one line "BENCH_RESULT {json}" that bench.load parses.
-- Latencies are in microseconds, as wrk keeps them.

local counter = 0

function setup(thread)
  -- Give each thread its own starting body, so threads do not send the same text in step.
  thread:set("start", counter)
  counter = counter + 1
end

local requests_ = {}
local index = 0

function init(args)
  local path = os.getenv("BENCH_PATH") or "/v1/classify"
  local file = assert(io.open(assert(os.getenv("BENCH_BODIES"), "set BENCH_BODIES"), "r"))
  for line in file:lines() do
    if #line > 0 then
      local headers = {["Content-Type"] = "application/json", ["Host"] = wrk.headers["Host"]}
      table.insert(requests_, wrk.format("POST", path, headers, line))
    end
  end
  file:close()
  assert(#requests_ > 0, "no bodies in BENCH_BODIES")
  index = (start or 0) * 7 % #requests_
end

function request()
  index = index % #requests_ + 1
  return requests_[index]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "mean_us": %.1f, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, summary.bytes, latency.mean,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
