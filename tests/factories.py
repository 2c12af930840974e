"""factory-boy factories for the catalog; orders are made through the services, as in life."""

import factory

from shop.models import Cart, CartItem, Customer, Option, Product, Variant


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = factory.Sequence(lambda n: f"010-{n:04d}-5678")
    password = factory.django.Password("correct horse battery")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    title = factory.Sequence(lambda n: f"Product {n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    price = 10000


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    title = factory.Sequence(lambda n: f"Size {n}")
    sku = factory.Sequence(lambda n: f"VAR-{n:05d}")


class OptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Option

    variant = factory.SubFactory(VariantFactory)
    title = factory.Sequence(lambda n: f"Colour {n}")
    sku = factory.Sequence(lambda n: f"OPT-{n:05d}")


class CartFactory(factory.django.DjangoModelFactory):
    """A customer's cart with the address its parcel will go to (checkout needs one)."""

    class Meta:
        model = Cart

    customer = factory.SubFactory(CustomerFactory)
    shipping_recipient_name = factory.SelfAttribute("customer.name")
    shipping_phone = "010-1234-5678"
    shipping_postal_code = "06123"
    shipping_address1 = "123 Main St"


class CartItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartItem

    cart = factory.SubFactory(CartFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
