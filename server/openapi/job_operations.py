"""The REST operations of imports, exports, jobs and the operators' API, for the document."""

from __future__ import annotations

from server.openapi import job_replies as j
from server.openapi import replies as r
from server.openapi.operation import Operation, Reply, query_parameter
from server.routes.admin import AdminJobQuery, DeadLetterQuery
from server.routes.exports import ExportRequest
from server.routes.imports import MAX_FILENAME
from server.routes.jobs import JobListQuery
from tasks.formats import FORMATS, LOAD_UNITS

FILE = {"type": "string", "format": "binary"}

JOB_OPERATIONS = (
    Operation(
        "POST",
        "/imports",
        "createImport",
        "imports",
        "Upload an export file of Strong, Hevy or FitNotes and start a job that imports it",
        description="Send the file as a multipart/form-data field named `file`, or as the raw "
        "body with Content-Type text/csv. Follow the job at GET /jobs/{jobId}. Importing the "
        "same file again adds nothing.",
        parameters=(
            query_parameter(
                "format", {"enum": list(FORMATS)}, "The app that wrote the file", required=True
            ),
            query_parameter(
                "unit",
                {"enum": list(LOAD_UNITS)},
                "The load unit chosen at export: required for Strong; Hevy and FitNotes files "
                "name their unit and use this one only where they do not",
            ),
            query_parameter(
                "filename",
                {"type": "string"},
                f"The file's name, for a raw body; longer names are cut to {MAX_FILENAME}",
            ),
        ),
        request_body={
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": FILE},
                        "required": ["file"],
                    }
                },
                "text/csv": {"schema": {"type": "string"}},
            },
        },
        replies={202: Reply("The import job was queued", r.JobStarted)},
        errors={413: "The file is larger than MAX_UPLOAD_BYTES"},
    ),
    Operation(
        "POST",
        "/exports",
        "createExport",
        "exports",
        "Start a job that writes the user's data as csv (Strong's layout), json or pdf",
        description="Follow the job at GET /jobs/{jobId}; its result names the file to fetch "
        "from GET /exports/{jobId}/download.",
        body=ExportRequest,
        replies={202: Reply("The export job was queued", r.JobStarted)},
    ),
    Operation(
        "GET",
        "/exports/{job_id}/download",
        "downloadExport",
        "exports",
        "Send the file of the user's finished export",
        description="The file stays downloadable for EXPORT_EXPIRY_SECONDS after the job ends.",
        replies={
            200: Reply(
                "The file, as an attachment",
                content={
                    "text/csv": {"schema": FILE},
                    "application/json": {"schema": {}},
                    "application/pdf": {"schema": FILE},
                },
            )
        },
        errors={404: "No such export of this user, or it has no file yet, failed or expired"},
    ),
    Operation(
        "GET",
        "/jobs",
        "listJobs",
        "jobs",
        "List the user's jobs, newest first, one keyset page at a time",
        query=JobListQuery,
        replies={200: Reply("One page of jobs", j.JobPage)},
    ),
    Operation(
        "GET",
        "/jobs/{job_id}",
        "getJob",
        "jobs",
        "Return a job's state, progress and result",
        replies={200: Reply("The job", j.Job)},
        errors={404: "No such job of this user"},
    ),
    Operation(
        "GET",
        "/admin/queue",
        "getQueue",
        "admin",
        "Describe the task queue: stream, pending messages, consumers, outbox, jobs, dead letters",
        auth="admin",
        replies={200: Reply("A snapshot of the queue", j.QueueSnapshot)},
    ),
    Operation(
        "GET",
        "/admin/jobs",
        "listAllJobs",
        "admin",
        "List every user's jobs, the most recently changed first",
        auth="admin",
        query=AdminJobQuery,
        replies={200: Reply("One page of jobs", j.AdminJobPage)},
    ),
    Operation(
        "GET",
        "/admin/dead-letters",
        "listDeadLetters",
        "admin",
        "List tasks that failed for good, newest first",
        auth="admin",
        query=DeadLetterQuery,
        replies={200: Reply("One page of dead letters", j.DeadLetterPage)},
    ),
    Operation(
        "POST",
        "/admin/dead-letters/{letter_id}/retry",
        "retryDeadLetter",
        "admin",
        "Send a dead-lettered task again and put its job back in the queue",
        auth="admin",
        replies={202: Reply("The task was sent again", j.RetriedDeadLetter)},
        errors={409: "The dead letter was retried already"},
    ),
)
