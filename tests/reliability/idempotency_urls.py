"""A write endpoint that counts its calls, to test the idempotency middleware in isolation."""

import json

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from shop.models import Customer


@csrf_exempt
def create_customer(request):
    body = json.loads(request.body or b"{}")
    if "email" not in body:
        return JsonResponse({"errors": [{"message": "email is required"}]}, status=400)
    if body.get("explode"):
        return JsonResponse({"errors": [{"message": "Something went wrong."}]}, status=500)
    customer = Customer.objects.create(name=body.get("name", ""), email=body["email"])
    return JsonResponse({"doc": {"id": customer.pk, "email": customer.email}}, status=201)


urlpatterns = [path("api/customers", create_customer)]
