-- Room on each devices page for HOT updates: the peer status flush rewrites last_handshake_at,
-- last_endpoint and the traffic counters of every device that rekeyed (~230 rows/s at 30,000
-- devices). With none of those columns indexed (0011), an update that finds space on its own page
-- touches no index and its old version is pruned without VACUUM (PGlite runs none). Existing
-- pages fill up to 70% as their rows are next updated; no table rewrite here.
ALTER TABLE "devices" SET (fillfactor = 70);
