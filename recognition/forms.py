from django import forms


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Image or zip of images",
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,.zip,application/zip"}),
    )
