"""Status objects and the exception that carries them, shaped as kube-apiserver writes them.

Messages follow k8s.io/apimachinery/pkg/api/errors (NewNotFound, NewAlreadyExists, NewForbidden,
NewConflict, NewBadRequest, NewInvalid, NewResourceExpired, NewInternalError, NewUnauthorized).
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple


def qualified_resource(resource: str, group: str) -> str:
    """`pods`, or `deployments.apps`: what schema.GroupResource.String() prints."""
    return resource if not group else f"{resource}.{group}"


class ApiError(Exception):
    """An error response: HTTP status, JSON Status body (or plain text), extra headers."""

    def __init__(self, code: int, status: Optional[Dict[str, Any]] = None, *, text: Optional[str] = None,
                 headers: Optional[Dict[str, str]] = None) -> None:
        super().__init__(status.get("message") if status else text)
        self.code = code
        self.status = status
        self.text = text
        self.headers = dict(headers or {})

    def body(self) -> Tuple[bytes, str]:
        """The response body and its Content-Type."""
        if self.status is not None:
            return json.dumps(self.status, separators=(",", ":")).encode(), "application/json"
        # Go's http.Error: the text plus a newline, as text/plain.
        return (self.text or "").encode() + b"\n", "text/plain; charset=utf-8"


def failure(code: int, reason: str, message: str, details: Optional[Dict[str, Any]] = None,
            list_meta: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """A `Status` with status=Failure, keys in the order the API server writes them."""
    status: Dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": dict(list_meta or {}),
                              "status": "Failure", "message": message}
    if reason:
        status["reason"] = reason
    if details is not None:
        status["details"] = details
    status["code"] = code
    return status


def _details(name: str, group: str, resource: str) -> Dict[str, Any]:
    details: Dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if resource:
        details["kind"] = resource
    return details


def not_found(resource: str, group: str, name: str) -> ApiError:
    message = f'{qualified_resource(resource, group)} "{name}" not found'
    return ApiError(404, failure(404, "NotFound", message, _details(name, group, resource)))


def already_exists(resource: str, group: str, name: str) -> ApiError:
    message = f'{qualified_resource(resource, group)} "{name}" already exists'
    return ApiError(409, failure(409, "AlreadyExists", message, _details(name, group, resource)))


def conflict(resource: str, group: str, name: str) -> ApiError:
    message = (f'Operation cannot be fulfilled on {qualified_resource(resource, group)} "{name}": the object has '
               "been modified; please apply your changes to the latest version and try again")
    return ApiError(409, failure(409, "Conflict", message, _details(name, group, resource)))


def forbidden(user: str, verb: str, resource: str, subresource: str, group: str, namespace: str,
              name: str) -> ApiError:
    """403 as the authorization filter writes it (responsewriters.Forbidden + forbiddenMessage)."""
    what = resource if not subresource else f"{resource}/{subresource}"
    if namespace:
        reason = (f'User "{user}" cannot {verb} resource "{what}" in API group "{group}" '
                  f'in the namespace "{namespace}"')
    else:
        reason = f'User "{user}" cannot {verb} resource "{what}" in API group "{group}" at the cluster scope'
    subject = qualified_resource(resource, group)
    message = f'{subject} "{name}" is forbidden: {reason}' if name else f"{subject} is forbidden: {reason}"
    return ApiError(403, failure(403, "Forbidden", message, _details(name, group, resource)))


def bad_request(message: str) -> ApiError:
    return ApiError(400, failure(400, "BadRequest", message))


def invalid(kind: str, group: str, name: str, causes: List[Dict[str, str]]) -> ApiError:
    """422 Invalid; each cause is {reason, message, field} as field.ErrorList renders it."""
    summary = ", ".join(f'{c["field"]}: {c["message"]}' for c in causes)
    qualified_kind = kind if not group else f"{kind}.{group}"
    message = f'{qualified_kind} "{name}" is invalid: {summary}'
    details = _details(name, group, kind)
    details["causes"] = causes
    return ApiError(422, failure(422, "Invalid", message, details))


def expired(message: str, continue_token: str = "") -> ApiError:
    list_meta = {"continue": continue_token} if continue_token else None
    return ApiError(410, failure(410, "Expired", message, list_meta=list_meta))


def internal_error(cause: str) -> ApiError:
    return ApiError(500, failure(500, "InternalError", f"Internal error occurred: {cause}",
                                 {"causes": [{"message": cause}]}))


def unauthorized() -> ApiError:
    return ApiError(401, failure(401, "Unauthorized", "Unauthorized"))


def not_acceptable() -> ApiError:
    message = ("only the following media types are accepted: application/json, application/yaml, "
               "application/vnd.kubernetes.protobuf")
    return ApiError(406, failure(406, "NotAcceptable", message))


def unsupported_media_type() -> ApiError:
    message = ("the body of the request was in an unknown format - accepted media types include: "
               "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, "
               "application/strategic-merge-patch+json")
    return ApiError(415, failure(415, "UnsupportedMediaType", message))


def method_not_allowed() -> ApiError:
    return ApiError(405, failure(405, "MethodNotAllowed", "the server does not allow this method on the "
                                                          "requested resource"))


def too_many_requests(retry_after: int) -> ApiError:
    """429 from API Priority and Fairness / max-in-flight: plain text, not a Status."""
    return ApiError(429, text="Too many requests, please try again later.",
                    headers={"Retry-After": str(retry_after)})


def page_not_found() -> ApiError:
    """What the server's not-found handler answers for an unknown path."""
    return ApiError(404, failure(404, "NotFound", "the server could not find the requested resource", {}))


def success(name: str, group: str, resource: str, uid: str) -> Dict[str, Any]:
    """The Status a DELETE answers for kinds whose storage does not return the deleted object."""
    details = _details(name, group, resource)
    if uid:
        details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
