-- wrk script: every write carries PIPELINE (default 16) GET / requests back to back, so the
-- server can answer them all with one read and one write. Usage: wrk -s bench/pipeline.lua URL
local depth = tonumber(os.getenv("PIPELINE") or "16")

init = function(args)
    local reqs = {}
    for i = 1, depth do
        reqs[i] = wrk.format("GET", "/")
    end
    batch = table.concat(reqs)
end

request = function()
    return batch
end
