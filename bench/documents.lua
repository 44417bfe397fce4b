-- wrk: create a draft, then finalize it; documents/s = finalizations/s.
-- Each wrk thread keeps the ids of its drafts; a request finalizes one when there is one.
local key = os.getenv("BENCH_KEY")
local drafts = {}
created, finalized, failed = 0, 0, 0
local body = os.getenv("BENCH_BODY")

function request()
  local id = table.remove(drafts)
  if id then
    return wrk.format("PUT", "/invoices/" .. id .. "/change-state.json?api_key=" .. key,
      {["Content-Type"] = "application/json"}, '{"invoice":{"state":"finalized"}}')
  end
  return wrk.format("POST", "/invoices.json?api_key=" .. key, {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, resp)
  if status == 201 then
    local id = string.match(resp, '"id":(%d+)')
    table.insert(drafts, id)
    created = created + 1
  elseif status == 200 then
    finalized = finalized + 1
  else
    failed = failed + 1
  end
end

function setup(thread)
  table.insert(threads, thread)
end

threads = {}

function done(summary, latency, requests)
  local c, f, x = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created"); f = f + t:get("finalized"); x = x + t:get("failed")
  end
  io.write(string.format("DOCS created=%d finalized=%d failed=%d\n", c, f, x))
end
