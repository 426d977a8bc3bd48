"""Add ``AsyncUploadRequestMiddleware`` after ``AuthenticationMiddleware`` so that form validation knows who is
submitting an upload key (see ``async_uploads.requester``)."""

from __future__ import annotations

from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from .async_uploads.requester import bind_request


class AsyncUploadRequestMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.is_async:
            return self.__acall__(request)
        with bind_request(request):
            return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        with bind_request(request):
            return await self.get_response(request)
