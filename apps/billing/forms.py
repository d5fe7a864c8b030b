from django import forms


class CheckoutForm(forms.Form):
    price_id = forms.CharField(max_length=255)
