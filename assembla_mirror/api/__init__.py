"""Talking to Assembla: the API client, authentication, credentials, pacing, paging.

Nothing here knows the mirror's database: this layer speaks HTTP and hands back
what Assembla answered. It imports only :mod:`assembla_mirror.errors` of the
package. Import the modules themselves (``assembla_mirror.api.client``): this
file stays empty so that importing one of them loads nothing else.
"""
