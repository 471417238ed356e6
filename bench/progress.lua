-- wrk script: engineers raising the percent of their own sites through
-- PATCH /api/sites/{code}/progress, each from the version the last answer gave.
-- $SITES names a file of lines "cookie csrf code version percent"; thread n takes the
-- lines n, n + threads, ... Each site has at most one update in flight.
local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  thread:set("nthreads", 0)
  counter = counter + 1
  threads[#threads + 1] = thread
end

local sites, busy, byCode = {}, {}, {}
local next_site = 0
ok, conflicts, other = 0, 0, 0
function init(args)
  local n = 0
  for line in io.lines(os.getenv("SITES")) do
    if n % tonumber(os.getenv("THREADS")) == id then
      local cookie, csrf, code, version, pct = line:match("^(%S+) (%S+) (%S+) (%d+) (%d+)$")
      local s = { cookie = cookie, csrf = csrf, code = code, version = tonumber(version), pct = tonumber(pct) }
      sites[#sites + 1] = s
      byCode[code] = s
    end
    n = n + 1
  end
end

function request()
  for _ = 1, #sites do
    next_site = next_site % #sites + 1
    local s = sites[next_site]
    if not busy[s.code] and s.pct < 99 then
      busy[s.code] = true
      return wrk.format("PATCH", "/api/sites/" .. s.code .. "/progress",
        { ["Cookie"] = s.cookie, ["X-CSRF-Token"] = s.csrf, ["Content-Type"] = "application/json" },
        string.format('{"version":%d,"percent":%d}', s.version, s.pct + 1))
    end
  end
  return wrk.format("GET", "/healthz")
end

function response(status, headers, body)
  local code = body:match('"code":"([^"]+)"')
  local s = code and byCode[code]
  if s then busy[code] = nil end
  if status == 200 and s then
    ok = ok + 1
    s.version = tonumber(body:match('"version":(%d+)'))
    s.pct = tonumber(body:match('"percent":(%d+)'))
  elseif status == 409 and s then
    conflicts = conflicts + 1
    s.version = tonumber(body:match('"version":(%d+)'))
  elseif not (status == 200 and body:find('"ok"')) then
    other = other + 1
  end
end

function done(summary, latency, requests)
  local a, c, o = 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("ok"); c = c + t:get("conflicts"); o = o + t:get("other")
  end
  io.write(string.format("accepted %d conflicts %d other %d\n", a, c, o))
  for _, p in ipairs({ 50, 90, 99 }) do
    io.write(string.format("latency p%d %.1f ms\n", p, latency:percentile(p) / 1000))
  end
end
