-- wrk script: stop after STOP_AFTER responses (default 100000) so a syscall count can be
-- divided by a known number of requests. Use with one wrk thread.
local limit = tonumber(os.getenv("STOP_AFTER") or "100000")
local seen = 0

response = function(status, headers, body)
    seen = seen + 1
    if seen >= limit then
        wrk.thread:stop()
    end
end
