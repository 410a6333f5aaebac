from django import forms


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Image or zip of images",
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,.zip,application/zip"}),
    )
    review_threshold = forms.FloatField(
        label="Flag for review below confidence", required=False, min_value=0, max_value=1,
        widget=forms.NumberInput(attrs={"step": "0.01", "placeholder": "0.9"}),
    )

    def job_options(self) -> dict:
        threshold = self.cleaned_data.get("review_threshold")
        return {} if threshold is None else {"review_threshold": threshold}
