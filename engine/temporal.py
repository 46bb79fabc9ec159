"""The one way to reach Temporal: every client uses the pydantic data converter and the payload
codec (security.codec.data_converter)."""

from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from engine.settings import Settings
from engine.temporal_tls import tls_config
from security.codec import data_converter
from workflows import search


class TemporalUnreachable(ConnectionError):
    pass


async def connect(settings: Settings) -> Client:
    converter = data_converter(
        settings.key_material().codec,  # a bad key stops us here
        accept_plaintext=settings.accept_plaintext_payloads,
    )
    tls = tls_config(settings)  # and so does a bad TLS file
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.namespace,
            data_converter=converter,
            tls=tls,
        )
    except RuntimeError as err:  # the SDK's "Failed client connect"
        raise TemporalUnreachable(
            f"cannot reach Temporal at {settings.temporal_address} "
            "(COMPLAINTS_TEMPORAL_ADDRESS); is `complaints run` or a server running?"
        ) from err


async def register_search_attributes(client: Client, namespace: str) -> None:
    """Make the complaint search attributes known to the server; ones it knows are left alone.
    (One at a time, and without listing first: the time-skipping server cannot list them.)"""
    for key in search.ALL:
        request = AddSearchAttributesRequest(
            namespace=namespace,
            # The SDK's enum carries the API's numbers, so its value is the API's IndexedValueType.
            search_attributes={key.name: key.indexed_value_type.value},
        )
        try:
            await client.operator_service.add_search_attributes(request)
        except RPCError as error:
            if error.status is not RPCStatusCode.ALREADY_EXISTS:
                raise
