"""The mock streaming-avatar API: ``service`` (the HTTP wiring, keys and programmed trouble), ``sessions``
(what each call does to a session, without I/O) and ``handle`` (the service as steps use it, from any
thread)."""
