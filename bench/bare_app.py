"""The floor: FastAPI answering a constant JSON to POST /predict (no validation, no model, no audit)."""

from fastapi import FastAPI
from starlette.responses import Response

BODY = b'{"churn_probability": 0.5}'


async def predict() -> Response:
    return Response(BODY, media_type="application/json")


app = FastAPI()
app.post("/predict")(predict)
# The same with FastAPI's OpenTelemetry hooks off, as churnguard runs (it exports Prometheus instead).
app_without_telemetry = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})
app_without_telemetry.post("/predict")(predict)
