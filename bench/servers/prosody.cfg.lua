-- Prosody configuration for `lectern-bench` (bench/run.sh fills in @DIR@ and @PORT@).
-- Purpose: measure MUC fan-out with Debian's Prosody as shipped, minus the throttles.
--  * mod_limits is NOT loaded, so c2s has no rate limit (Debian's default config
--    loads it with `limits = { c2s = { rate = "10kb/s" } }`, which audio hits).
--  * Anonymous login on guest.localhost, so N clients need no accounts.
--  * MUC on conference.localhost; no MAM, no offline storage, no smacks/carbons.
--  * Plain TCP on 127.0.0.1 only, TLS not offered, no s2s, no HTTP.

daemonize = false
pidfile = "@DIR@/prosody.pid"
data_path = "@DIR@/data"
network_backend = "epoll"

log = { warn = "@DIR@/prosody.log" }

c2s_ports = { @PORT@ }
c2s_interfaces = { "127.0.0.1" }
s2s_ports = { }
component_ports = { }
http_ports = { }
https_ports = { }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
-- Default is 256 KiB; keep it (benchmark stanzas are at most a few KiB).
c2s_stanza_size_limit = 262144

modules_enabled = {
	"saslauth";
	"disco";
	"ping";
}
modules_disabled = { "s2s"; "tls"; "offline"; "posix"; }

storage = "memory"
authentication = "anonymous"

VirtualHost "localhost"
	authentication = "internal_plain"

VirtualHost "guest.localhost"
	authentication = "anonymous"
	-- Anonymous users may message the local MUC service.
	disallow_s2s = true

Component "conference.localhost" "muc"
	-- Anonymous users create rooms (the benchmark's owner is a guest too).
	restrict_room_creation = false
	-- No archive; history defaults to 20 messages per room (joiners ask for none).
	muc_room_locking = true
	max_history_messages = 20
