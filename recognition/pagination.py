"""Pages of the API's lists: a job's results and a caller's jobs. `page` and `page_size` are whole
numbers from 1, or are refused: a typo is an error the client sees, not a silent default. A page_size
above the maximum gives the maximum."""

import re

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination

WHOLE_NUMBER = re.compile(r"[1-9][0-9]*")


class WholeNumberPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    last_page_strings = ()

    def get_page_number(self, request, paginator):
        number = request.query_params.get(self.page_query_param, "1")
        if not WHOLE_NUMBER.fullmatch(number):
            raise NotFound(self.invalid_page_message)
        return number

    def get_page_size(self, request):
        size = request.query_params.get(self.page_size_query_param, str(self.page_size))
        if not WHOLE_NUMBER.fullmatch(size):
            raise ValidationError({self.page_size_query_param: ["A whole number from 1 is required."]})
        return min(int(size), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters


class ResultsPagination(WholeNumberPagination):
    page_size = 100
    max_page_size = 1000
    page_size_query_description = "Rows per page (default 100); above 1000 gives 1000."


class JobsPagination(WholeNumberPagination):
    page_size = 50
    max_page_size = 500
    page_size_query_description = "Jobs per page, newest first (default 50); above 500 gives 500."
