from django import forms

from uploads.models import Job


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Image or zip of images",
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,.zip,application/zip"}),
    )
    mode = forms.ChoiceField(label="Each image shows", choices=Job.Mode.choices, initial=Job.Mode.AUTO, required=False)
    review_threshold = forms.FloatField(
        label="Flag for review below confidence",
        required=False,
        min_value=0,
        max_value=1,
        widget=forms.NumberInput(attrs={"step": "0.01", "placeholder": "0.9"}),
    )

    keep_separators = forms.BooleanField(
        label="Keep decimal points, commas and minus signs in lines", required=False, initial=True
    )

    def job_options(self) -> dict:
        options = {
            "mode": self.cleaned_data.get("mode") or Job.Mode.AUTO,
            "keep_separators": self.cleaned_data.get("keep_separators", False),
        }
        if self.cleaned_data.get("review_threshold") is not None:
            options["review_threshold"] = self.cleaned_data["review_threshold"]
        return options
