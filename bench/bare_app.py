"""The floor: FastAPI answering a constant JSON to POST /predict (no validation, no model, no audit)."""

from fastapi import FastAPI
from starlette.responses import Response

app = FastAPI()
BODY = b'{"churn_probability": 0.5}'


@app.post("/predict")
async def predict() -> Response:
    return Response(BODY, media_type="application/json")
