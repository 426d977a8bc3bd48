"""Counting the SQL queries of one request, inside the server that answers it (ours and the reference's alike).

A request that carries ``X-Bench-Count-Queries: 1`` is answered with ``X-Bench-Queries`` (how many statements the
default database connection ran while the request was handled, the session and authentication middleware's
included) and ``X-Bench-Sql`` (a JSON list of those statements, shortened). The middleware is the first in both
projects' ``MIDDLEWARE``, so it sees every query of the request; every other request only pays one header lookup.
It imports nothing but Django, so the reference's environment can load it too.
"""

import json

from django.db import connection

HEADER = "X-Bench-Count-Queries"
SQL_LENGTH = 160


class QueryCountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.headers.get(HEADER) != "1":
            return self.get_response(request)
        statements: list[str] = []

        def record(execute, sql, params, many, context):
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            response = self.get_response(request)
        response["X-Bench-Queries"] = str(len(statements))
        response["X-Bench-Sql"] = json.dumps([" ".join(sql.split())[:SQL_LENGTH] for sql in statements])
        return response
