"""The mock auth service, one concept a module:

* ``service``               the HTTP wiring (aiohttp.web): routes and correlation, nothing decided here
* ``authorization_server``  the rules without I/O: accounts, grants, revocation, programmed trouble
* ``messages``              a token request as read, an answer to give
* ``accounts``              accounts, and the failure limiter that throttles callers (429, ``Retry-After``)
* ``refresh_tokens``        refresh-token families: rotation and reuse detection
* ``programmed``            answers programmed for the coming token requests
* ``tokens``                the token authority: signed JWT access tokens, and flawed ones
* ``handle``                the service as steps use it, from any thread
"""
