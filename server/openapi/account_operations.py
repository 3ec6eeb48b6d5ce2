"""The REST operations of health checks, accounts, preferences, notifications and pages."""

from __future__ import annotations

from server.openapi import replies as r
from server.openapi.operation import Operation, Reply
from server.routes.auth import Credentials, PasswordChange, RefreshRequest, Registration
from server.routes.notifications import InboxQuery
from server.routes.preferences import PreferencesUpdate

HTML = {"text/html": {"schema": {"type": "string"}}}

ACCOUNT_OPERATIONS = (
    Operation(
        "GET",
        "/health",
        "getHealth",
        "health",
        "Report that the process is up",
        auth="public",
        replies={200: Reply("The process is up", r.Health)},
    ),
    Operation(
        "GET",
        "/ready",
        "getReadiness",
        "health",
        "Report whether the database and Redis answer",
        auth="public",
        replies={
            200: Reply("Both answer", r.Readiness),
            503: Reply("The database or Redis does not answer", r.Readiness),
        },
    ),
    Operation(
        "POST",
        "/auth/register",
        "register",
        "auth",
        "Create an account",
        auth="public",
        body=Registration,
        replies={201: Reply("The account was created", r.Registered)},
        errors={409: "The email is already registered"},
    ),
    Operation(
        "POST",
        "/auth/login",
        "logIn",
        "auth",
        "Exchange email and password for an access token and a refresh token",
        auth="public",
        body=Credentials,
        replies={200: Reply("Signed in", r.Tokens)},
        errors={
            401: "Invalid email or password",
            429: "Too many failed logins for this account or address: retry after Retry-After",
        },
    ),
    Operation(
        "POST",
        "/auth/refresh",
        "refreshToken",
        "auth",
        "Issue a new access token for a live refresh token",
        description="The refresh token stays valid and is returned unchanged.",
        auth="public",
        body=RefreshRequest,
        replies={200: Reply("A new access token", r.Tokens)},
        errors={401: "The refresh token is invalid, expired or revoked"},
    ),
    Operation(
        "POST",
        "/auth/logout",
        "logOut",
        "auth",
        "Revoke a refresh token",
        auth="public",
        body=RefreshRequest,
        replies={204: Reply("The token is revoked, or already was")},
    ),
    Operation(
        "POST",
        "/auth/password",
        "changePassword",
        "auth",
        "Change the password and revoke every refresh token of the account",
        body=PasswordChange,
        replies={204: Reply("The password was changed")},
        errors={401: "The access token or the current password is invalid"},
    ),
    Operation(
        "GET",
        "/auth/me",
        "getAccount",
        "auth",
        "Return the signed-in account",
        replies={200: Reply("The account", r.Account)},
    ),
    Operation(
        "GET",
        "/me/preferences",
        "getPreferences",
        "preferences",
        "Return the account's preferences",
        replies={200: Reply("The preferences", r.Preferences)},
    ),
    Operation(
        "PATCH",
        "/me/preferences",
        "updatePreferences",
        "preferences",
        "Change the preferences present in the body and return all of them",
        description="An unknown key is 400. `reminderTime: null` turns reminders off.",
        body=PreferencesUpdate,
        replies={200: Reply("All preferences after the change", r.Preferences)},
    ),
    Operation(
        "GET",
        "/notifications",
        "listNotifications",
        "notifications",
        "List the user's notifications, newest first",
        query=InboxQuery,
        replies={200: Reply("One page of notifications", r.NotificationPage)},
    ),
    Operation(
        "GET",
        "/notifications/unread-count",
        "countUnreadNotifications",
        "notifications",
        "Count the user's unread notifications",
        replies={200: Reply("The count", r.UnreadCount)},
    ),
    Operation(
        "POST",
        "/notifications/read-all",
        "markAllNotificationsRead",
        "notifications",
        "Mark every unread notification read",
        replies={200: Reply("How many changed", r.MarkedRead)},
    ),
    Operation(
        "POST",
        "/notifications/{id}/read",
        "markNotificationRead",
        "notifications",
        "Mark one notification read",
        replies={200: Reply("The notification", r.Notification)},
    ),
)

PAGE_OPERATIONS = (
    Operation(
        "GET",
        "/",
        "getLivePage",
        "pages",
        "Serve the live workout page",
        auth="public",
        replies={200: Reply("The page", content=HTML)},
    ),
    Operation(
        "GET",
        "/admin",
        "getJobDashboard",
        "pages",
        "Serve the operators' job dashboard, which signs in and calls the admin API itself",
        auth="public",
        replies={200: Reply("The page", content=HTML)},
    ),
    Operation(
        "GET",
        "/docs",
        "getDocsPage",
        "pages",
        "Serve this API's documentation page, rendered from /openapi.json",
        auth="public",
        replies={200: Reply("The page", content=HTML)},
    ),
    Operation(
        "GET",
        "/openapi.json",
        "getOpenApiDocument",
        "pages",
        "Return this OpenAPI 3.1 document",
        auth="public",
        replies={
            200: Reply(
                "The document",
                content={"application/json": {"schema": {"type": "object"}}},
            )
        },
    ),
)
